"""Per-tenant admission control: how much of one tenant's traffic may be in flight.

Three limits, all per tenant so a throttled or huge tenant never holds back another:

- ``concurrency`` calls (HTTP round trips) in flight — a ``$batch`` envelope is one call;
- an adaptive budget of Graph *requests* in flight (a ``$batch`` envelope of 20 costs 20, as
  Intune's throttling counts every entry): halved once per throttling episode, grown by one
  per successful round trip (AIMD), so after a 429 the tenant's pace settles near what Graph
  grants instead of every caller discovering the 429 on its own;
- a resume time: after a ``Retry-After`` nothing for the tenant is sent before it passes;
- a write pace (:class:`WritePacer`): Intune limits writes far below reads (100 per 20 s per
  app per tenant), so once writes are throttled they are spaced at the rate Graph was seen
  to grant, instead of bursting into the next 429 after every ``Retry-After``;
- a budget (:class:`RequestBudget`) of Graph requests, and one of writes: Intune's documented
  per-app-per-tenant limits as a token bucket, so a big backup or restore spends them
  smoothly instead of bursting into 429s (DESIGN §7, §9) — the reactive limits above remain
  for when Graph grants less than documented.
"""

from __future__ import annotations

import asyncio
import math

MAX_BATCH = 20


class GateDeadline(Exception):
    """Raised when the tenant stays closed beyond the caller's deadline."""


class RequestBudget:
    """A token bucket: ``capacity`` units at once, refilled at ``capacity`` per
    ``window_s`` — the shape of Intune's limits ("1000 requests per 20 seconds") and of the
    throttle-bound minimum in DESIGN §9 (the capacity at once, then the capacity per window).
    """

    def __init__(self, capacity: int, window_s: float) -> None:
        self.capacity = float(max(1, capacity))
        self.rate = self.capacity / max(window_s, 0.001)
        self.tokens = self.capacity
        self._stamp: float | None = None

    async def spend(self, units: int, deadline: float) -> None:
        """Wait until ``units`` tokens are there (a call larger than the whole capacity waits
        for a full bucket), then take them."""
        loop = asyncio.get_running_loop()
        need = min(float(max(0, units)), self.capacity)
        while True:
            now = loop.time()
            if self._stamp is not None:
                self.tokens = min(self.capacity, self.tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self.tokens >= need:
                self.tokens -= need
                return
            wait = (need - self.tokens) / self.rate
            if now + wait > deadline:
                raise GateDeadline()
            await asyncio.sleep(wait)


class TenantGate:
    def __init__(self, concurrency: int, max_units: int,
                 budget: RequestBudget | None = None,
                 write_budget: RequestBudget | None = None) -> None:
        self.budget = budget
        self.write_budget = write_budget
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._changed = asyncio.Condition()
        self.max_units = max(1, max_units)
        self.limit = float(self.max_units)
        self.in_use = 0
        self.resume_at = 0.0  # loop time
        self._decreased_at = -math.inf
        self.writes = WritePacer()

    @property
    def batch_size(self) -> int:
        """How many entries the next ``$batch`` envelope should carry."""
        return max(1, min(MAX_BATCH, int(self.limit)))

    async def enter(self, units: int, deadline: float, *, writes: int = 0) -> float:
        """Wait until the tenant is open and ``units`` requests (``writes`` of them writes)
        fit; returns the loop time the call was admitted (to tell whether a later 429
        predates a slow-down)."""
        loop = asyncio.get_running_loop()
        if writes and self.write_budget is not None:
            await self.write_budget.spend(writes, deadline)
        if self.budget is not None:
            await self.budget.spend(units, deadline)
        while True:
            wait = self.resume_at - loop.time()
            if wait > 0:
                if self.resume_at > deadline:
                    raise GateDeadline()
                await asyncio.sleep(wait)
                continue
            await self._slots.acquire()
            admitted = False
            try:
                async with self._changed:
                    while (self.in_use and self.in_use + units > self.limit
                           and self.resume_at <= loop.time()):
                        await self._changed.wait()
                    if self.resume_at <= loop.time():
                        self.in_use += units
                        admitted = True
            finally:
                if not admitted:
                    self._slots.release()
            if admitted:
                return loop.time()

    async def leave(self, units: int) -> None:
        async with self._changed:
            self.in_use -= units
            self._changed.notify_all()
        self._slots.release()

    def throttled(self, admitted_at: float, delay: float) -> None:
        """A call admitted at ``admitted_at`` was answered 429 with ``delay`` to wait."""
        now = asyncio.get_running_loop().time()
        self.resume_at = max(self.resume_at, now + delay)
        if admitted_at >= self._decreased_at:  # one halving per episode, not per answer
            self.limit = max(1.0, self.limit / 2)
            self._decreased_at = now

    def succeeded(self) -> None:
        self.limit = min(float(self.max_units), self.limit + 1)


class WritePacer:
    """Spaces one tenant's writes once Graph has throttled them.

    Unpaced until the second write 429: between two throttled writes Graph accepted
    ``n`` writes in ``t`` seconds, which is the rate its bucket refills at; writes are then
    started ``1 / (SAFETY * n / t)`` apart. Every accepted paced write shortens the interval a
    little (``SPEED_UP``), so a pace that was too careful drifts back up until the next 429
    measures again. Rare 429s, not a steady stream, are the result.
    """

    SAFETY = 0.9
    SPEED_UP = 0.995

    def __init__(self) -> None:
        self.interval = 0.0  # seconds between write starts; 0 = not paced
        self._next_at = 0.0
        self._accepted = 0  # writes accepted since the last write 429
        self._last_429: float | None = None

    async def turn(self) -> None:
        """Wait for this write's slot (at once while unpaced)."""
        if self.interval <= 0:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now, self._next_at)
        self._next_at = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)

    def accepted(self) -> None:
        self._accepted += 1
        self.interval *= self.SPEED_UP

    def throttled(self) -> None:
        now = asyncio.get_running_loop().time()
        if self._last_429 is not None and self._accepted > 0 and now > self._last_429:
            rate = self._accepted / (now - self._last_429)
            self.interval = 1.0 / (self.SAFETY * rate)
        self._accepted = 0
        self._last_429 = now
