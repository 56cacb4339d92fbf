"""Small deterministic helpers shared by the orchestrators."""

from typing import Any

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


def call_orchestrator(context: df.DurableOrchestrationContext, orchestrator: Any,
                      input_: dict[str, Any], instance_id: str) -> Any:
    """Start ``orchestrator`` (the decorated function: the SDK reads its registered name) as
    a sub-orchestration; its output is a dict. Said explicitly because, given a function, SDK
    1.7 reads the output type off its own wrapper's annotation (``str``): it would log a
    warning for every dict output, and refuse it under strict typing."""
    return context.call_sub_orchestrator(orchestrator, input_, instance_id, expected_type=dict)
