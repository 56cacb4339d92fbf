"""Who a log line is about: ``run_id``, ``tenant_id`` and ``invocation_id`` on its record.

Activities run inside :func:`log_context` (``activities.blueprint``), and HTTP functions bind
the tenant they serve (``api.handler``), so every line they or the code beneath them (Graph
client, stores) log carries those fields as record attributes. In Azure the OpenTelemetry
exporter turns record attributes into ``customDimensions`` in Application Insights; the local
runtime prints them at the end of each line. Fields are set only while bound, so a line logged
outside any run has none.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

FIELDS = ("run_id", "tenant_id", "invocation_id")

_bound: ContextVar[Mapping[str, str]] = ContextVar(
    "policyvault_log_context", default=MappingProxyType({}))


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Bind ``fields`` (names from :data:`FIELDS`; empty values are ignored) to every record
    logged in this context, including tasks it starts."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise TypeError(f"unknown log context field(s): {sorted(unknown)}")
    token = _bound.set({**_bound.get(), **{k: str(v) for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _bound.reset(token)


def current() -> Mapping[str, str]:
    """The fields bound here (for a test, or a message that must name its run)."""
    return _bound.get()


def install() -> None:
    """Make every new log record carry the bound fields (idempotent; process-wide, because
    the Functions worker and the OpenTelemetry exporter own the handlers, not us)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_log_context", False):
        return

    bound = _bound  # held by the closure: module globals are gone at interpreter shutdown

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        for name, value in bound.get().items():
            setattr(record, name, value)
        return record

    factory.adds_log_context = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


install()
