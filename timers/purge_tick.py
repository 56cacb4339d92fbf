"""The retention purge's timer (DESIGN §12): once a day, start that day's purge of every
tenant (``shared.retention.start``). The real clock is read here, once: the orchestration
works on the time it is given."""

import logging

import azure.durable_functions as df
import azure.functions as func

from api.starts import DurableScheduler
from shared.platform.config import get_settings
from shared.platform.keys import utc_now
from shared.retention.start import start_purge

bp = df.Blueprint()
log = logging.getLogger(__name__)

DAILY = "0 30 2 * * *"  # 02:30 UTC, six-field NCRONTAB


@bp.timer_trigger(schedule=DAILY, arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def purge_tick(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    instance = await start_purge(DurableScheduler(client), utc_now(),
                                 get_settings().orphan_grace)
    log.info("retention purge (past due: %s): %s", timer.past_due,
             f"started {instance}" if instance else "already started today")
