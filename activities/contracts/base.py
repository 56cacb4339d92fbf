"""The two pieces every contract shares: rebuilding from a history dict, and the run ref."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Self


class Payload:
    """Mixin of the frozen dataclasses that go through Durable history as dicts.

    ``from_payload`` ignores keys the type does not know, so an input recorded by an older
    (or newer) orchestrator still builds; fields are therefore only ever added with a default.
    A contract with nested contracts, or an old shape to convert, overrides it.
    """

    @classmethod
    def from_payload(cls, payload: dict) -> Self:
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in payload.items() if k in names})


@dataclass(frozen=True)
class RunRef(Payload):
    """The run an orchestration works for: its input, and the head of every activity input
    (the activity reads the tenant from here, never from the data it loads)."""

    run_id: str
    tenant_id: str

    @classmethod
    def for_run(cls, ref: RunRef, **values: Any) -> Self:
        """This step's input for ``ref``'s run."""
        return cls(run_id=ref.run_id, tenant_id=ref.tenant_id, **values)


@dataclass(frozen=True)
class RunInput(RunRef):
    """An orchestration's input: its run, and the flow it was scheduled with
    (``shared.runs.starter.orchestration_input``; 1: an input from before the field)."""

    flow: int = 1
