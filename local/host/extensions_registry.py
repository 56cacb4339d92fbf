"""The extensions `python -m local.host` runs, in start order: the one place to add one."""

from __future__ import annotations

from local.host.durable import DurableExtension
from local.host.extensions import TriggerExtension
from local.host.http_trigger import HttpExtension
from local.host.queue_trigger import QueueExtension
from local.host.timer_trigger import TimerExtension


def default_extensions(*, activities: bool = True) -> list[TriggerExtension]:
    """Fresh extension instances (they hold per-run state). ``activities=False``: activities
    are left to worker processes running :func:`activity_worker_extensions`."""
    return [HttpExtension(), TimerExtension(), QueueExtension(),
            DurableExtension(activities=activities)]


def activity_worker_extensions() -> list[TriggerExtension]:
    """What an activity worker runs: activity work items, nothing else (no HTTP routes, no
    timers, no queue triggers, no orchestrations: those stay in the one main process)."""
    return [DurableExtension(orchestrations=False)]
