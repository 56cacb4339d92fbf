"""Small deterministic helpers shared by the orchestrators."""

import azure.durable_functions as df

from shared.platform.codes import ErrorCode
from shared.platform.keys import iso


def now_iso(context: df.DurableOrchestrationContext) -> str:
    """The orchestration's replay-safe clock, as stored on rows and keys."""
    return iso(context.current_utc_datetime)


def failed_run_error(exc: Exception) -> dict[str, str]:
    """A safe run error for an activity that failed after its retries. The activity's own
    message may carry foreign text, so only a fixed message is kept."""
    del exc
    return {"code": ErrorCode.INTERNAL_ERROR,
            "message": "a step of this run kept failing; the details are in the logs"}

