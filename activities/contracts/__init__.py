"""What crosses the orchestration boundary: one frozen dataclass per activity input and
outcome, one module per activity module (``contracts.snapshots`` for ``activities.snapshots``).

Orchestrators build an input by name and pass ``dataclasses.asdict(x)``; the activity rebuilds
it on its first line with ``X.from_payload(payload)`` and returns ``asdict(outcome)``, which
the orchestrator rebuilds the same way. Every field is JSON-plain (str, int, bool, None, lists
and dicts of those, nested contracts), because Durable history stores dicts.
"""
