"""When to retry a Graph call and how long to wait: pure policy, no I/O.

The client asks three questions per failed attempt: may this failure be retried for this
method (:meth:`RetryPolicy.retryable`), how long to wait (:meth:`RetryPolicy.delay`: Graph's
``Retry-After`` when given, capped, else exponential backoff with full jitter), and whether the
wait still fits the call's total deadline. Keeping this free of I/O lets the transport-seam
tests drive it deterministically (``rng`` and the clock are injectable).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.platform.errors import GraphBadResponse, GraphError, GraphThrottled, GraphTransient

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Statuses whose request Graph certainly did not process: safe to resend even a POST.
NOT_PROCESSED_STATUSES = frozenset({429, 503})
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds for one Graph call. ``deadline_s`` is the total time a call may take,
    waits included. ``max_attempts`` bounds attempts that failed transiently (5xx, timeouts);
    throttled attempts are bounded by the deadline (Graph says when to come back) and, as a
    backstop, ``max_throttled_attempts``."""

    max_attempts: int = 8
    max_throttled_attempts: int = 60
    deadline_s: float = 120.0
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    retry_after_cap_s: float = 60.0
    attempt_timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def retryable(self, error: GraphError, *, method: str, idempotent: bool,
                  sent: bool = True) -> bool:
        """May ``error`` be retried? ``sent`` is False when the request never left us
        (connect failure, pool timeout), which makes even a non-idempotent POST safe.
        A 500 is retried on GET only: for a write it may have been half-applied."""
        if isinstance(error, GraphThrottled):
            return True
        if isinstance(error, GraphBadResponse):  # a truncated body: read it again
            return method.upper() == "GET"
        if not isinstance(error, GraphTransient):
            return False
        if not sent:
            return True
        if error.status is None:  # timeout or dropped connection after sending
            return idempotent
        if error.status in NOT_PROCESSED_STATUSES:
            return True
        if error.status == 500:
            return method.upper() == "GET"
        return idempotent and error.status in RETRYABLE_STATUSES

    def attempts_left(self, error: GraphError, transient: int, throttled: int) -> bool:
        """Whether another attempt is allowed after ``transient`` transient failures and
        ``throttled`` throttled ones (counts include this failure)."""
        if isinstance(error, GraphThrottled):
            return throttled < self.max_throttled_attempts
        return transient < self.max_attempts

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for the ``attempt``-th retry (1-based)."""
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2 ** max(0, attempt - 1)))
        return self.rng.uniform(0, ceiling)

    def delay(self, error: GraphError, attempt: int) -> float:
        """Seconds to wait before the next attempt: Retry-After (capped) or backoff."""
        if error.retry_after is not None:
            return min(max(0.0, error.retry_after), self.retry_after_cap_s)
        return self.backoff(attempt)


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date; None when absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now())
