"""Reading a tenant type by type, a few types at a time: the fan-out backups and drift checks
share (DESIGN §9). Deterministic: it only schedules activities, in the same order on every
replay."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import asdict
from typing import Any

import azure.durable_functions as df

from activities.contracts.base import RunRef
from activities.contracts.runs import RecordProgress
from activities.contracts.snapshots import CapturedType, TransientMode
from activities.runs import record_progress
from orchestrators.retry import BOOKKEEPING
from shared.runs.model import Counts

ITEM_ATTEMPTS = 3  # tries per object (or type) Graph refuses transiently, the first included

# Schedules one type's read (type key, mode) → task; and, for a type whose activity failed
# after its retries, records it (type key) → the outcome.
ReadType = Callable[[str, TransientMode], Any]
RecordUnread = Callable[[str], Generator[Any, Any, CapturedType]]


def mode_for(attempt: int) -> TransientMode:
    """Items (or types) Graph refuses transiently go back for a later try, until the last."""
    return TransientMode.RECORD_FAILED if attempt >= ITEM_ATTEMPTS else (
        TransientMode.RETURN_FOR_RETRY)


def read_types(context: df.DurableOrchestrationContext, ref: RunRef, types: list[str],
               at_once: int, read: ReadType, unread: RecordUnread, counts: Counts,
               publish_every: int = 1) -> Generator[Any, Any, list[CapturedType]]:
    """Read ``at_once`` types at a time; as each finishes, start the next, and publish the
    counters after every ``publish_every`` finished types (the run's finish publishes the
    last). A type whose listing Graph refused transiently is read again, up to
    ITEM_ATTEMPTS times. Returns each read's outcome, in the order they finished."""
    pending: dict[Any, tuple[str, int]] = {}  # task → (type, attempt)
    waiting = [(policy_type, 1) for policy_type in types]
    outcomes: list[CapturedType] = []

    def fill() -> None:
        while waiting and len(pending) < at_once:
            policy_type, attempt = waiting.pop(0)
            pending[read(policy_type, mode_for(attempt))] = (policy_type, attempt)

    fill()
    while pending:
        done = yield context.task_any(list(pending))
        policy_type, attempt = pending.pop(done)
        if isinstance(done.result, Exception):  # failed after its retries
            outcome = yield from unread(policy_type)
        else:
            outcome = CapturedType.from_payload(done.result)
        if outcome.retry_type:
            waiting.append((policy_type, attempt + 1))
        counts.total += outcome.listed
        counts.add(outcome.tally)
        outcomes.append(outcome)
        fill()  # the next type starts before the counters are published
        if len(outcomes) % publish_every == 0:
            yield context.call_activity_with_retry(
                record_progress, BOOKKEEPING, asdict(RecordProgress.for_run(ref, counts=counts)))
    return outcomes
