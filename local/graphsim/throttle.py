"""Intune-style throttling: token buckets per tenant and per app in a tenant.

Documented Intune limits, per 20 s: any request 2000 per tenant / 1000 per app per tenant;
writes 200 per tenant / 100 per app per tenant. `scale` multiplies every limit so a
benchmark on a small machine can shrink them proportionally.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass
class Limits:
    enabled: bool = True
    window_s: float = 20.0
    tenant_requests: int = 2000
    app_requests: int = 1000
    tenant_writes: int = 200
    app_writes: int = 100
    scale: float = 1.0

    @classmethod
    def intune(cls, scale: float = 1.0) -> Limits:
        return cls(scale=scale)

    @classmethod
    def off(cls) -> Limits:
        return cls(enabled=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Limits:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown limit fields: {sorted(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Bucket:
    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, capacity: float, window_s: float, now: float):
        self.capacity = max(capacity, 1.0)
        self.rate = self.capacity / max(window_s, 0.001)
        self.tokens = self.capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self) -> float:
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


class Throttler:
    def __init__(self, limits: Limits, clock=time.monotonic):
        self.clock = clock
        self.set_limits(limits)

    def set_limits(self, limits: Limits) -> None:
        self.limits = limits
        self._buckets: dict[tuple[str, ...], _Bucket] = {}

    def _bucket(self, key: tuple[str, ...], limit: int, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(limit * self.limits.scale,
                                                  self.limits.window_s, now)
        return bucket

    def check(self, tenant_id: str, app_id: str, is_write: bool) -> int | None:
        """Consume one request; None if allowed, else the Retry-After in whole seconds."""
        if not self.limits.enabled:
            return None
        now = self.clock()
        lim = self.limits
        buckets = [self._bucket(("t", tenant_id), lim.tenant_requests, now),
                   self._bucket(("a", tenant_id, app_id), lim.app_requests, now)]
        if is_write:
            buckets += [self._bucket(("tw", tenant_id), lim.tenant_writes, now),
                        self._bucket(("aw", tenant_id, app_id), lim.app_writes, now)]
        for bucket in buckets:
            bucket.refill(now)
        wait = max(b.wait() for b in buckets)
        if wait > 0:
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.tokens -= 1.0
        return None
