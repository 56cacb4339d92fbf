"""The scheduler's timer (DESIGN §10): every five minutes, start what tenants' schedules say
is due.

The tick starts each due job directly through the Durable client, exactly as its HTTP start
would (``shared.runs.starter.start_job``): each scheduled run is an ordinary, independent
orchestration under the job's own idempotency key — visible in the tenant's runs, reusing a
run already in flight, settled and retried on its own. No parent orchestration is needed:
the markers (``shared.schedules.marks``) make a late, repeated, concurrent or interrupted
tick safe, and the Durable engine's concurrency limits (host.json) pace the runs themselves.
The decision and its clock live in ``shared.schedules.tick.run_tick``; this function only
supplies the real time.
"""

import logging

import azure.durable_functions as df
import azure.functions as func

from api.starts import DurableScheduler
from shared.platform.keys import utc_now
from shared.platform.storage import get_storage
from shared.schedules.tick import run_tick

bp = df.Blueprint()
log = logging.getLogger(__name__)

TICK = "0 */5 * * * *"  # six-field NCRONTAB, UTC


@bp.timer_trigger(schedule=TICK, arg_name="timer", run_on_startup=False)
@bp.durable_client_input(client_name="client")
async def schedule_tick(timer: func.TimerRequest, client: df.DurableOrchestrationClient) -> None:
    outcome = await run_tick(get_storage(), DurableScheduler(client), utc_now())
    if outcome.due:  # a tick with nothing due stays quiet
        log.info("schedule tick (past due: %s): %s", timer.past_due, outcome.summary())
