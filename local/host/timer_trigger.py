"""Timer triggers: NCRONTAB (or TimeSpan) schedules in UTC, one loop per function.

Like the Functions host, runs of one function never overlap: the next occurrence is computed
after a run finishes, so slow runs skip occurrences rather than pile up. `past_due` is true
when a run starts more than `PAST_DUE_AFTER` after its scheduled time. Schedule state is not
persisted across restarts (no `useMonitor` catch-up). A function whose app setting
`AzureWebJobs.<name>.Disabled` is true does not run on its schedule, but still runs when
asked to (:meth:`TimerExtension.fire_now`, as a disabled function still runs through Azure's
admin API). The NCRONTAB parser is the product's own, ``shared.platform.ncrontab``, imported
only when an app has timers (the runtime serves apps whose ``shared`` package is their own, as
``app_config_hook`` uses the app's ``shared.platform.config``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from azure.functions.timer import TimerRequest

from local.host.config import parse_timespan
from local.host.errors import HostConfigError
from local.host.extensions import NoInputBindings

if TYPE_CHECKING:
    from local.host.app_loader import FunctionSpec
    from local.host.function_host import FunctionHost
    from shared.platform.ncrontab import CronSchedule

log = logging.getLogger("local.host.timer")
PAST_DUE_AFTER = timedelta(seconds=1)


@dataclass(frozen=True)
class IntervalSchedule:
    """The TimeSpan form (`hh:mm:ss`): every interval, counted from start-up."""

    expression: str
    interval: timedelta

    def next_after(self, moment: datetime) -> datetime:
        return moment + self.interval


def disabled(host: FunctionHost, name: str) -> bool:
    """The function's `AzureWebJobs.<name>.Disabled` app setting is true."""
    return host.settings.get(f"AzureWebJobs.{name}.Disabled", "").strip().lower() in (
        "true", "1")


class ScheduleError(ValueError):
    """Raised when a timer's schedule is neither NCRONTAB nor a positive TimeSpan."""


def parse_schedule(expression: str) -> CronSchedule | IntervalSchedule:
    """NCRONTAB with six fields, or a TimeSpan like `00:05:00`; :class:`ScheduleError`."""
    from shared.platform.ncrontab import CronError, CronSchedule

    if ":" in expression and len(expression.split()) == 1:
        interval = parse_timespan(expression, "schedule")
        if interval <= timedelta(0):
            raise ScheduleError(f"'{expression}' is not a positive interval")
        return IntervalSchedule(expression, interval)
    try:
        schedule = CronSchedule.parse(expression)
        schedule.next_after(datetime.now(UTC))  # fails now if it can never occur
    except CronError as exc:
        raise ScheduleError(str(exc)) from exc
    return schedule


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s stopped", task.get_name(), exc_info=task.exception())


class TimerExtension(NoInputBindings):
    trigger_types = frozenset({"timerTrigger"})

    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []
        self._schedules: dict[str, CronSchedule | IntervalSchedule] = {}

    def describe(self, trigger: dict[str, Any]) -> str:
        extra = ", run on startup" if trigger.get("runOnStartup") else ""
        return f"timer '{trigger.get('schedule')}' (UTC){extra}"

    async def start(self, host: FunctionHost) -> None:
        specs = host.functions_for(self.trigger_types)
        for spec in specs:  # validate every schedule before anything runs
            where = f"function '{spec.name}': timer schedule"
            try:
                expression = host.resolve(str(spec.trigger.get("schedule", "")), where)
                self._schedules[spec.name] = parse_schedule(expression)
            except (ScheduleError, HostConfigError) as exc:
                raise HostConfigError(f"{where} '{spec.trigger.get('schedule')}': {exc}") from exc
        for spec in specs:
            if disabled(host, spec.name):
                log.info("timer function '%s' is disabled: it runs only when asked", spec.name)
                continue
            task = asyncio.create_task(self._run(host, spec), name=f"timer:{spec.name}")
            task.add_done_callback(_report_crash)
            self._tasks.append(task)

    async def fire_now(self, host: FunctionHost, name: str) -> None:
        """Run timer function ``name`` once, now (as Azure's ``POST /admin/functions/{name}``
        does): for tests and the demo, which cannot wait for a nightly schedule."""
        spec = next((s for s in host.functions_for(self.trigger_types) if s.name == name), None)
        if spec is None:
            raise KeyError(f"no timer function named {name!r}")
        await self._fire(host, spec, self._schedules[name], None, None)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _run(self, host: FunctionHost, spec: FunctionSpec) -> None:
        schedule = self._schedules[spec.name]
        last: datetime | None = None
        if spec.trigger.get("runOnStartup"):
            await self._fire(host, spec, schedule, None, last)
            last = datetime.now(UTC)
        while True:
            due = schedule.next_after(datetime.now(UTC))
            await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
            await self._fire(host, spec, schedule, due, last)
            last = due

    async def _fire(
        self,
        host: FunctionHost,
        spec: FunctionSpec,
        schedule: CronSchedule | IntervalSchedule,
        due: datetime | None,
        last: datetime | None,
    ) -> None:
        now = datetime.now(UTC)
        try:
            request = TimerRequest(
                past_due=due is not None and now - due > PAST_DUE_AFTER,
                schedule_status={
                    "Last": (last or now).isoformat(),
                    "Next": schedule.next_after(now).isoformat(),
                    "LastUpdated": now.isoformat(),
                },
                schedule={"AdjustForDST": True},
            )
            await host.invoke(spec, {spec.trigger["name"]: request})
        except Exception:
            log.exception("Executed 'Functions.%s' (Failed)", spec.name)
