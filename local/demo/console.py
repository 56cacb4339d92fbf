"""What the demo prints: sections, aligned tables and a trace line for every API call.

Every HTTP call the demo's clients make goes through :meth:`Console.trace` (an httpx response
hook), so the output doubles as a tour of the API. Only methods, paths, status codes and
fields the API itself returns are printed — never headers, tokens or configuration secrets.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

import httpx

from local.api_client import PolicyVaultClient

RULE_WIDTH = 100


class Console:
    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.calls = 0
        self._muted = 0
        self._started = time.monotonic()

    # ---- plain output ---------------------------------------------------------------------
    def line(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def section(self, number: int, title: str) -> None:
        elapsed = time.monotonic() - self._started
        self.line()
        self.line(f"== {number}. {title} ".ljust(RULE_WIDTH - 8, "=") + f" {elapsed:5.1f}s")

    def note(self, text: str) -> None:
        self.line(f"   {text}")

    def fields(self, pairs: Sequence[tuple[str, Any]], indent: int = 3) -> None:
        width = max((len(name) for name, _ in pairs), default=0)
        for name, value in pairs:
            self.line(f"{' ' * indent}{name.ljust(width)}  {value}")

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]],
              right: Sequence[int] = (), indent: int = 3) -> None:
        """An aligned table; ``right`` lists the columns to right-align (numbers)."""
        cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row]
                                               for row in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

        def render(row: list[str]) -> str:
            parts = [c.rjust(w) if i in right else c.ljust(w)
                     for i, (c, w) in enumerate(zip(row, widths, strict=True))]
            return (" " * indent + "  ".join(parts)).rstrip()

        self.line(render(cells[0]))
        self.line(" " * indent + "  ".join("-" * w for w in widths))
        for row in cells[1:]:
            self.line(render(row))

    # ---- API call trace -------------------------------------------------------------------
    def client(self, base_url: str, token: str, actor: str) -> PolicyVaultClient:
        """An API client whose every call is printed as ``actor  METHOD  status  path``."""
        client = PolicyVaultClient(base_url, token)
        client.http.event_hooks["response"].append(
            lambda response: self.trace(actor, response))
        return client

    def trace(self, actor: str, response: httpx.Response) -> None:
        self.calls += 1
        if not self._muted:
            self.call_line(actor, response)

    def call_line(self, actor: str, response: httpx.Response, detail: str = "") -> None:
        """``actor  METHOD  status  path  [detail]`` — aligned, path last."""
        request = response.request
        path = request.url.raw_path.decode("ascii", "replace")
        suffix = f"   {detail}" if detail else ""
        self.line(f"   {actor:<9} {request.method:<6} {response.status_code}  {path}{suffix}")

    @contextmanager
    def muted(self) -> Iterator[None]:
        """Count calls but do not print them (polling prints its own, de-duplicated lines)."""
        self._muted += 1
        try:
            yield
        finally:
            self._muted -= 1



def duration(run: dict[str, Any]) -> str:
    """A run's wall time from its own timestamps (``started_at`` → ``finished_at``)."""
    from datetime import datetime

    start, end = run.get("started_at") or run.get("created_at"), run.get("finished_at")
    if not start or not end:
        return "-"
    seconds = (datetime.fromisoformat(end.replace("Z", "+00:00"))
               - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()
    return f"{seconds:.1f}s"


def counts_text(counts: dict[str, int]) -> str:
    return (f"{counts.get('processed', 0)}/{counts.get('total', 0)} processed, "
            f"{counts.get('succeeded', 0)} ok, {counts.get('failed', 0)} failed, "
            f"{counts.get('skipped', 0)} skipped")
