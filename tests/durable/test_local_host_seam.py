"""The extension behind the product runtime's `FunctionHost` (the seam the lead wires)."""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator

import pytest
import requests

from local.host.durable.extension import DurableExtension
from tests.durable.harness import LoopThread

function_host = pytest.importorskip("local.host.function_host")
http_trigger = pytest.importorskip("local.host.http_trigger")
config = pytest.importorskip("local.host.config")


@pytest.fixture
def product_host(durable_loop: LoopThread, storage_connection: str,
                 storage_prefix: str) -> Iterator[object]:
    # a fresh DFApp: an app object validates its function names only once per process
    module = importlib.reload(importlib.import_module("tests.durable.app.function_app"))
    host_config = config.HostConfig(durable_task=config.DurableTaskConfig(
        hub_name="SeamHub", raw={"storageProvider": {"partitionCount": 2}}))
    host = function_host.FunctionHost(
        module.app, extensions=[http_trigger.HttpExtension(),
                                DurableExtension(visibility_timeout=5)],
        host_config=host_config, port=0,
        settings={"AzureWebJobsStorage": storage_connection,
                  "PV_STORAGE_PREFIX": storage_prefix})
    durable_loop.run(host.start())
    yield host
    durable_loop.run(host.stop())


def test_function_host_runs_orchestrations_through_the_durable_extension(
        product_host: object) -> None:
    base = product_host.base_url  # type: ignore[attr-defined]
    started = requests.post(f"{base}/api/start/fan_out", json={"n": 25}, timeout=30)
    assert started.status_code == 202, started.text
    status_url = started.json()["statusQueryGetUri"]
    for _ in range(600):   # bounded polling
        body = requests.get(status_url, timeout=30).json()
        if body["runtimeStatus"] == "Completed":
            break
        time.sleep(0.05)
    assert body["output"] == {"count": 25, "sum": 600, "first": [0, 2, 4]}
    durable = next(e for e in product_host.extensions  # type: ignore[attr-defined]
                   if isinstance(e, DurableExtension))
    assert durable.names is not None and durable.names.partitions == 2
    assert durable.hub_name.endswith("SeamHub")
