"""Small deterministic helpers shared by the orchestrators."""

import re
from typing import Any

import azure.durable_functions as df

from shared.platform.codes import ErrorCode
from shared.platform.keys import iso


def now_iso(context: df.DurableOrchestrationContext) -> str:
    """The orchestration's replay-safe clock, as stored on rows and keys."""
    return iso(context.current_utc_datetime)


# Our own failures whose code tells an operator what to fix, named by class in the failed
# task's text ("Activity function 'x' failed: KeyUnavailable: ..."), each with a fixed message.
_KNOWN_FAILURES = {
    "KeyUnavailable": (ErrorCode.KEY_UNAVAILABLE,
                       "the tenant's data key could not be unwrapped: check the key-encryption "
                       "key the runtime is given (PV_SNAPSHOT_KEK or Key Vault)"),
    "SnapshotUnreadable": (ErrorCode.SNAPSHOT_UNREADABLE,
                           "a snapshot failed its integrity check; the details are in the logs"),
    "StorageError": (ErrorCode.STORAGE_ERROR,
                     "Azure Storage kept failing for a step of this run"),
}
_KNOWN = re.compile(r"\b(" + "|".join(_KNOWN_FAILURES) + r")\b")


def step_error(exc: Exception) -> dict[str, str] | None:
    """The error of ours an activity failed with after its retries, as ``{code, message}``,
    when it is one an operator can act on; else None. Only the class name is read from the
    failure's text, which may carry foreign text: the message is a fixed one."""
    found = _KNOWN.search(str(exc))
    if found is None:
        return None
    code, message = _KNOWN_FAILURES[found.group(1)]
    return {"code": code, "message": message}


def failed_run_error(exc: Exception) -> dict[str, str]:
    """A safe run error for an activity that failed after its retries (:func:`step_error`,
    else a fixed internal error)."""
    return step_error(exc) or {
        "code": ErrorCode.INTERNAL_ERROR,
        "message": "a step of this run kept failing; the details are in the logs"}


def call_orchestrator(context: df.DurableOrchestrationContext, orchestrator: Any,
                      input_: dict[str, Any], instance_id: str) -> Any:
    """Start ``orchestrator`` (the decorated function: the SDK reads its registered name) as
    a sub-orchestration; its output is a dict. Said explicitly because, given a function, SDK
    1.7 reads the output type off its own wrapper's annotation (``str``): it would log a
    warning for every dict output, and refuse it under strict typing."""
    return context.call_sub_orchestrator(orchestrator, input_, instance_id, expected_type=dict)
