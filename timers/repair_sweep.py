"""The repair sweep's timer (issue 19, finding 5): every five minutes, restart or fail runs
whose orchestration is missing, failed or terminated (``shared.runs.repair``). A sweep with
nothing to repair only reads."""

import logging

import azure.durable_functions as df
import azure.functions as func

from api.starts import DurableScheduler
from shared.platform.keys import utc_now
from shared.platform.storage import get_storage
from shared.runs.repair import sweep

bp = df.Blueprint()
log = logging.getLogger(__name__)

SWEEP = "30 */5 * * * *"  # six-field NCRONTAB, UTC; half a minute after the schedule tick


@bp.timer_trigger(schedule=SWEEP, arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def repair_sweep(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    outcome = await sweep(get_storage(), DurableScheduler(client), utc_now())
    if outcome.wrote:
        log.warning("repair sweep: %d runs inspected, repaired %s", outcome.inspected,
                    dict(outcome.repaired))
