"""Every line the app logs while it works for a run names the run, its tenant and the
Functions invocation (issue 18, observability): as OpenTelemetry log attributes — what the
Azure Monitor exporter sends to Application Insights as ``customDimensions`` — and in the
local runtime's own log lines."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
from opentelemetry.instrumentation.logging.handler import LoggingHandler
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

from local.demo.__main__ import APP_LOGGERS
from local.host.startup import FieldsFormatter

FAILING = "windowsFeatureUpdateProfiles"


@pytest.fixture
def exported() -> Iterator[InMemoryLogRecordExporter]:
    """The OpenTelemetry SDK's log pipeline on the app's loggers, with the handler
    ``configure_azure_monitor`` installs and an in-memory exporter at its end."""
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    handler = LoggingHandler(level=logging.INFO, logger_provider=provider)
    loggers = [logging.getLogger(name) for name in APP_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield exporter
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)
    provider.shutdown()


def _lines_of(exporter: InMemoryLogRecordExporter, run_id: str) -> list[dict]:
    return [dict(data.log_record.attributes or {}, body=str(data.log_record.body))
            for data in exporter.get_finished_logs()
            if run_id in str(data.log_record.body)
            or (data.log_record.attributes or {}).get("run_id") == run_id]


def test_activity_and_graph_lines_carry_run_tenant_and_invocation(admin, sim, tenant_id,
                                                                   exported):
    sim.add_fault("503", retry_after=0, method="GET", path_prefix=f"/deviceManagement/{FAILING}")

    run = admin.wait(admin.backup(tenant_id, [FAILING, "deviceCompliancePolicies"]))

    assert run["status"] == "partial"
    lines = _lines_of(exported, run["run_id"])
    activity_lines = [line for line in lines if "invocation_id" in line]
    # the activity's own warning, and the Graph client's retries beneath it
    assert any(f"{FAILING} not listed" in line["body"] for line in activity_lines)
    assert any(line["body"].startswith("graph GET") for line in activity_lines)
    for line in activity_lines:
        assert line["run_id"] == run["run_id"] and line["tenant_id"] == tenant_id
        assert re.fullmatch(r"[0-9a-f-]{36}", line["invocation_id"])
    # The HTTP start names the tenant it serves (a start has no run id in its path).
    [started] = [line for line in lines if line["body"].startswith(f"run {run['run_id']} started")]
    assert started["tenant_id"] == tenant_id and "invocation_id" not in started


def test_local_log_lines_end_with_the_fields():
    record = logging.LogRecord("activities.snapshots", logging.WARNING, __file__, 1,
                               "run %s: %s not listed", ("R1", FAILING), None)
    record.run_id, record.tenant_id, record.invocation_id = "R1", "T1", "I1"
    plain = logging.LogRecord("local.host", logging.INFO, __file__, 1, "listening", (), None)

    formatter = FieldsFormatter("%(levelname)s %(name)s: %(message)s")

    assert formatter.format(record) == (
        f"WARNING activities.snapshots: run R1: {FAILING} not listed "
        "[run_id=R1 tenant_id=T1 invocation_id=I1]")
    assert formatter.format(plain) == "INFO local.host: listening"
