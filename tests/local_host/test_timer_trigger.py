"""A timer trigger fires on its NCRONTAB schedule (every second in the test app)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local.host import running_host
from local.host.timer_trigger import PAST_DUE_AFTER, TimerExtension, parse_schedule
from tests.local_host.helpers import APP_DIR, APP_IMPORT, wait_until


def test_timer_every_second_fires_repeatedly_with_a_timer_request(
    storage_connection: str, storage_prefix: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PV_TEST_MARKERS", str(tmp_path))
    environ = {"AzureWebJobsStorage": storage_connection, "PV_STORAGE_PREFIX": storage_prefix}
    ticks = tmp_path / "tick.log"
    with running_host(APP_IMPORT, script_root=APP_DIR, environ=environ):
        lines = wait_until(
            lambda: ticks.exists() and len(ticks.read_text().splitlines()) >= 2 and ticks,
            "two timer runs",
        ).read_text().splitlines()
    assert all(isinstance(json.loads(line)["past_due"], bool) for line in lines)


class _RecordingHost:
    def __init__(self) -> None:
        self.past_due: list[bool] = []

    async def invoke(self, spec: Any, kwargs: dict[str, Any]) -> None:
        self.past_due.append(kwargs["timer"].past_due)


class _Spec:
    name = "nightly"
    trigger = {"name": "timer"}  # noqa: RUF012 - a test double


def test_timer_run_late_by_more_than_the_threshold_is_past_due() -> None:
    host, schedule, now = _RecordingHost(), parse_schedule("0 0 0 * * *"), datetime.now(UTC)
    for due in (now, now - PAST_DUE_AFTER - timedelta(seconds=2)):
        asyncio.run(TimerExtension()._fire(host, _Spec(), schedule, due, None))  # type: ignore[arg-type]
    assert host.past_due == [False, True]


def test_timespan_schedule_is_an_interval() -> None:
    now = datetime.now(UTC)
    assert parse_schedule("00:05:00").next_after(now) == now + timedelta(minutes=5)


class _DisabledTickHost(_RecordingHost):
    """A host whose app settings disable the timer function ``nightly``."""

    settings = {"AzureWebJobs.nightly.Disabled": "True"}  # noqa: RUF012 - a test double

    def functions_for(self, trigger_types: frozenset[str]) -> list[Any]:
        spec = _Spec()
        spec.trigger = {"name": "timer", "schedule": "* * * * * *"}
        return [spec]

    def resolve(self, value: str, where: str) -> str:
        return value


def test_timer_disabled_by_app_setting_never_runs_on_schedule_but_runs_when_asked() -> None:
    host, timers = _DisabledTickHost(), TimerExtension()

    async def scenario() -> int:
        await timers.start(host)  # type: ignore[arg-type]
        scheduled = len(timers._tasks)
        await timers.fire_now(host, "nightly")  # type: ignore[arg-type]
        await timers.stop()
        return scheduled

    assert asyncio.run(scenario()) == 0
    assert host.past_due == [False]
