"""host.json and local.settings.json reading."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from local.host.config import (
    HostConfig,
    apply_local_settings,
    load_host_config,
    parse_timespan,
    read_local_settings,
)
from local.host.errors import HostConfigError
from local.host.queue_trigger import decode_body


def test_host_json_absent_gives_defaults(tmp_path: Path) -> None:
    assert load_host_config(tmp_path, {}) == HostConfig()


def test_host_json_sections_are_typed_and_settings_substituted(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(json.dumps({
        "functionTimeout": "00:10:00",
        "extensions": {
            "http": {"routePrefix": "/v1/"},
            "queues": {"batchSize": 8, "maxDequeueCount": 3, "visibilityTimeout": "00:00:30",
                       "maxPollingInterval": "00:00:00.250"},
            "durableTask": {"hubName": "%PREFIX%Hub", "maxConcurrentActivityFunctions": 4,
                            "storageProvider": {"partitionCount": 4}},
        },
    }))
    config = load_host_config(tmp_path, {"PREFIX": "t1"})
    assert config.route_prefix == "v1"
    assert config.function_timeout == timedelta(minutes=10)
    assert (config.queues.batch_size, config.queues.new_batch_threshold) == (8, 4)
    assert config.queues.max_dequeue_count == 3
    assert config.queues.visibility_timeout == timedelta(seconds=30)
    assert config.queues.max_polling_interval == timedelta(milliseconds=250)
    assert config.durable_task.hub_name == "t1Hub"
    assert config.durable_task.max_concurrent_activity_functions == 4
    assert config.durable_task.raw["storageProvider"] == {"partitionCount": 4}


def test_empty_route_prefix_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text('{"extensions": {"http": {"routePrefix": ""}}}')
    assert load_host_config(tmp_path, {}).route_prefix == ""


@pytest.mark.parametrize(("text", "expected"), [
    ("00:00:30", timedelta(seconds=30)), ("1.02:03:04", timedelta(days=1, seconds=7384)),
    ("00:00:00.5", timedelta(milliseconds=500)), (2, timedelta(seconds=2)),
])
def test_timespans(text: object, expected: timedelta) -> None:
    assert parse_timespan(text, "x") == expected


def test_bad_timespan_is_refused() -> None:
    with pytest.raises(HostConfigError, match="not a timespan"):
        parse_timespan("30s", "extensions.queues.visibilityTimeout")


def test_local_settings_fill_only_unset_keys(tmp_path: Path) -> None:
    (tmp_path / "local.settings.json").write_text(json.dumps(
        {"Values": {"A": "file", "B": "file"}, "Host": {"LocalHttpPort": 7072}}
    ))
    local = read_local_settings(tmp_path)
    environ = {"A": "process"}
    merged = apply_local_settings(local.values, environ)
    assert merged == environ == {"A": "process", "B": "file"}
    assert local.local_http_port == 7072


def test_local_settings_absent_is_fine(tmp_path: Path) -> None:
    assert read_local_settings(tmp_path).values == {}


@pytest.mark.parametrize(("content", "body"), [
    ("aGVsbG8=", b"hello"), ("hello world", b"hello world"), ("abc", b"abc"), ("", b""),
])
def test_queue_body_base64_or_raw(content: str, body: bytes) -> None:
    assert decode_body(content) == body
