"""Injected faults: rules matched by tenant, path prefix and method, fired by rate or count.

Rules apply to Graph calls unless `target` is "entra" or "any".
Kinds: "500", "502", "503" (with Retry-After), "504", "status" (any `status`), "drop"
(close the connection without answering), "slow" (delay `delay_ms`, then answer normally),
"malformed" (200 with invalid JSON), "echo_auth" (an error body echoing the request's
Authorization header and the app's client secret — to prove nothing leaks downstream),
"echo_body" (a 400 whose message quotes the request body, as a deserializer might — to
prove secret values written are scrubbed).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = ("500", "502", "503", "504", "status", "drop", "slow", "malformed", "echo_auth",
         "echo_body")


@dataclass
class FaultRule:
    kind: str
    tenant: str | None = None
    path_prefix: str | None = None
    method: str | None = None
    rate: float = 1.0
    count: int | None = None  # fire at most this many times
    status: int | None = None  # for kind "status"
    retry_after: int | None = None  # seconds, for 503/429-like statuses
    delay_ms: int = 1000  # for kind "slow"
    target: str = "graph"  # "graph" (incl. $batch), "entra" (metadata + token) or "any"
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    fired: int = 0

    def __post_init__(self) -> None:
        self.kind = str(self.kind)
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {KINDS}")
        if not 0.0 <= float(self.rate) <= 1.0:
            raise ValueError("rate must be within 0..1")
        if self.kind == "status" and not self.status:
            raise ValueError("kind 'status' needs 'status'")
        if self.method:
            self.method = self.method.upper()
        if self.target not in ("graph", "entra", "any"):
            raise ValueError("target must be 'graph', 'entra' or 'any'")

    @property
    def http_status(self) -> int:
        return int(self.status) if self.kind == "status" else int(self.kind)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _path_matches(prefix: str | None, path: str) -> bool:
    """`path` is the full request path ("/beta/deviceManagement/…" or "/{tenant}/oauth2/…").
    A prefix may include the version or leave it out."""
    if not prefix:
        return True
    prefix = "/" + prefix.lstrip("/")
    if path.lower().startswith(prefix.lower()):
        return True
    parts = path.split("/", 2)
    if len(parts) == 3 and parts[1] in ("v1.0", "beta"):
        return ("/" + parts[2]).lower().startswith(prefix.lower())
    return False


class FaultSet:
    def __init__(self, seed: int):
        self.rules: list[FaultRule] = []
        self.rng = random.Random(f"faults:{seed}")

    def add(self, rule: FaultRule) -> FaultRule:
        self.rules.append(rule)
        return rule

    def clear(self, rule_id: str | None = None) -> int:
        before = len(self.rules)
        self.rules = [r for r in self.rules if rule_id is not None and r.id != rule_id]
        return before - len(self.rules)

    def match(self, tenant: str | None, method: str, path: str,
              target: str = "graph") -> FaultRule | None:
        for rule in self.rules:
            if rule.target not in (target, "any"):
                continue
            if rule.count is not None and rule.fired >= rule.count:
                continue
            if rule.tenant and (tenant or "").lower() != rule.tenant.lower():
                continue
            if rule.method and rule.method != method.upper():
                continue
            if not _path_matches(rule.path_prefix, path):
                continue
            if rule.rate < 1.0 and self.rng.random() >= rule.rate:
                continue
            rule.fired += 1
            return rule
        return None
