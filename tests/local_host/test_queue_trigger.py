"""Queue triggers against Azurite, with the runtime in-process (`running_host`)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.storage.queue import QueueClient, TextBase64EncodePolicy

from local.host import RunningHost, running_host
from tests.local_host.helpers import APP_DIR, APP_IMPORT, wait_until


@pytest.fixture
def markers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PV_TEST_MARKERS", str(tmp_path))
    return tmp_path


@pytest.fixture
def host(storage_connection: str, storage_prefix: str, markers: Path) -> Iterator[RunningHost]:
    environ = {"AzureWebJobsStorage": storage_connection, "PV_STORAGE_PREFIX": storage_prefix}
    with running_host(APP_IMPORT, script_root=APP_DIR, environ=environ,
                      check_storage=True) as running:
        yield running


def _queue(connection: str, name: str, base64: bool = False) -> QueueClient:
    policy = TextBase64EncodePolicy() if base64 else None
    return QueueClient.from_connection_string(connection, name, message_encode_policy=policy)


def _visible_count(queue: QueueClient) -> int:
    return len(queue.peek_messages(max_messages=32))


def test_queue_base64_message_is_decoded_and_deleted(
    host: RunningHost, storage_connection: str, storage_prefix: str, markers: Path
) -> None:
    queue = _queue(storage_connection, f"{storage_prefix}work", base64=True)
    body = f"hello {uuid.uuid4()} é"
    sent = queue.send_message(body)
    marker = markers / f"work-{sent.id}.json"
    wait_until(marker.exists, "the work function to run")
    seen = json.loads(marker.read_text())
    assert seen == {"body": body, "dequeue_count": 1, "has_pop_receipt": True,
                    "has_insertion_time": True}
    wait_until(lambda: _visible_count(queue) == 0 and not queue.get_queue_properties()
               .approximate_message_count, "the message to be deleted")


def test_queue_text_that_is_not_base64_is_passed_as_is(
    host: RunningHost, storage_connection: str, storage_prefix: str, markers: Path
) -> None:
    queue = _queue(storage_connection, f"{storage_prefix}work")
    sent = queue.send_message("plain text, not base64!")
    marker = markers / f"work-{sent.id}.json"
    wait_until(marker.exists, "the work function to run")
    assert json.loads(marker.read_text())["body"] == "plain text, not base64!"


def test_queue_failing_message_goes_to_poison_after_five_dequeues(
    host: RunningHost, storage_connection: str, storage_prefix: str, markers: Path
) -> None:
    queue = _queue(storage_connection, f"{storage_prefix}fail", base64=True)
    poison = _queue(storage_connection, f"{storage_prefix}fail-poison")
    sent = queue.send_message('{"n": 1}')

    def poisoned() -> list:
        try:
            return poison.peek_messages()
        except Exception:  # the poison queue is created on first use
            return []

    [moved] = wait_until(poisoned, "the message in the poison queue")
    assert moved.content == base64.b64encode(b'{"n": 1}').decode()  # copied unchanged
    attempts = (markers / f"fail-{sent.id}.log").read_text().split()
    assert attempts == ["1", "2", "3", "4", "5"]
    assert queue.get_queue_properties().approximate_message_count == 0
