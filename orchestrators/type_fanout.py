"""Reading a tenant type by type, a few types at a time: the fan-out backups and drift checks
share (DESIGN §9). Deterministic: it only schedules activities, in the same order on every
replay."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import asdict, dataclass
from typing import Any

import azure.durable_functions as df

from activities.contracts.base import RunRef
from activities.contracts.runs import RecordProgress
from activities.contracts.snapshots import CapturedType, CapturedTypes, TransientMode
from activities.runs import record_progress
from orchestrators.retry import BOOKKEEPING
from orchestrators.run_steps import step_error
from shared.runs.model import Counts

ITEM_ATTEMPTS = 3  # tries per object (or type) Graph refuses transiently, the first included

# Schedules one activity reading some types (type keys, mode) → task; its result is one
# type's outcome (``CapturedType``) or several (``CapturedTypes``). For a type whose activity
# failed after its retries, RecordUnread records it (type key, the error of ours it failed
# with or None: ``run_steps.step_error``) → the outcome.
ReadTypes = Callable[[list[str], TransientMode], Any]
RecordUnread = Callable[[str, dict[str, str] | None], Generator[Any, Any, CapturedType]]


@dataclass(frozen=True)
class Fanout:
    """How a run reads its types, as recorded with the run (so a replay schedules exactly
    what the first execution did): ``at_once`` types at a time, ``per_activity`` of them in
    one activity, the counters published after every ``publish_every`` finished activities.
    ``grouped``: the run was recorded with ``types_per_activity``, so its activities take a
    list of types (runs recorded before read one type per activity)."""

    at_once: int
    per_activity: int = 1
    publish_every: int = 1
    grouped: bool = False

    @classmethod
    def of(cls, parameters: dict[str, Any], default_at_once: int) -> Fanout:
        per_activity = parameters.get("types_per_activity")
        return cls(at_once=parameters.get("types_at_once", default_at_once),
                   per_activity=max(1, per_activity or 1),
                   publish_every=parameters.get("progress_every", 1),
                   grouped=per_activity is not None)


def mode_for(attempt: int) -> TransientMode:
    """Items (or types) Graph refuses transiently go back for a later try, until the last."""
    return TransientMode.RECORD_FAILED if attempt >= ITEM_ATTEMPTS else (
        TransientMode.RETURN_FOR_RETRY)


def read_types(context: df.DurableOrchestrationContext, ref: RunRef, types: list[str],
               fanout: Fanout, read: ReadTypes, unread: RecordUnread, counts: Counts
               ) -> Generator[Any, Any, list[CapturedType]]:
    """Read ``fanout.at_once`` types at a time, ``fanout.per_activity`` of them in one
    activity (most types hold a few objects: an activity's own cost would outweigh its
    reads); as each activity finishes, start the next, and publish the counters after every
    ``fanout.publish_every`` finished activities (the run's finish publishes the last). A
    type whose listing Graph refused transiently is read again, up to ITEM_ATTEMPTS times.
    Returns each type's outcome, in the order their activities finished."""
    pending: dict[Any, tuple[list[str], int]] = {}  # task → (types, attempt)
    waiting = [(policy_type, 1) for policy_type in types]
    outcomes: list[CapturedType] = []
    finished = 0
    per_activity = fanout.per_activity
    activities_at_once = max(1, fanout.at_once // per_activity)

    def fill() -> None:
        while waiting and len(pending) < activities_at_once:
            attempt = waiting[0][1]
            group = [t for t, a in waiting if a == attempt][:per_activity]
            for policy_type in group:
                waiting.remove((policy_type, attempt))
            pending[read(group, mode_for(attempt))] = (group, attempt)

    fill()
    while pending:
        done = yield context.task_any(list(pending))
        group, attempt = pending.pop(done)
        if isinstance(done.result, Exception):  # failed after its retries
            read_now = []
            error = step_error(done.result)
            for policy_type in group:
                read_now.append((yield from unread(policy_type, error)))
        else:
            read_now = CapturedTypes.from_result(done.result)
        for outcome in read_now:
            if outcome.retry_type:
                waiting.append((outcome.policy_type, attempt + 1))
            counts.total += outcome.listed
            counts.add(outcome.tally)
        outcomes += read_now
        finished += 1
        fill()  # the next read starts before the counters are published
        if finished % fanout.publish_every == 0:
            yield context.call_activity_with_retry(
                record_progress, BOOKKEEPING, asdict(RecordProgress.for_run(ref, counts=counts)))
    return outcomes
