"""The extensions `python -m local.host` runs, in start order: the one place to add one."""

from __future__ import annotations

from local.host.durable import DurableExtension
from local.host.extensions import TriggerExtension
from local.host.http_trigger import HttpExtension
from local.host.queue_trigger import QueueExtension
from local.host.timer_trigger import TimerExtension


def default_extensions() -> list[TriggerExtension]:
    """Fresh extension instances (they hold per-run state)."""
    return [HttpExtension(), TimerExtension(), QueueExtension(), DurableExtension()]
