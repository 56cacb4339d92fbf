"""When to retry a Graph request and how long to wait — for single calls and ``$batch``
sub-requests alike.

:class:`RetryPolicy` is pure policy: may this failure be retried for this method
(:meth:`RetryPolicy.retryable`), how long to wait (:meth:`RetryPolicy.delay`: Graph's
``Retry-After`` when given, capped, else exponential backoff with full jitter) and how many
attempts a request gets. :class:`Attempts` is the one routine that applies it to a request's
failed attempts — :meth:`GraphClient.request` and :func:`shared.graph.batch.batch` both go
through it, so a failure is retried (or not) the same way whether it came back alone or
inside a ``$batch`` answer. A 429 is recognised one way only: as a :class:`GraphThrottled`
from the error map.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.graph.gate import TenantGate
from shared.platform.errors import (
    GraphBadResponse,
    GraphDeadlineExceeded,
    GraphError,
    GraphThrottled,
    GraphTransient,
)

log = logging.getLogger("shared.graph")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Transient statuses whose request Graph certainly did not process: safe to resend even a
# POST. (A 429 is a GraphThrottled, always retried: it never reaches these status checks.)
NOT_PROCESSED_STATUSES = frozenset({503})
RETRYABLE_STATUSES = frozenset({502, 503, 504})


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


class Attempts:
    """The failed attempts of one Graph request (a call, or one ``$batch`` sub-request), in
    two steps per failure:

    - :meth:`failed` counts it — throttled and transient failures apart, each with its own
      budget — and fixes the wait before the next attempt. A throttled failure's wait is the
      tenant's: the gate holds every call for the tenant back until it has passed.
    - :meth:`retry_wait` then returns how long the caller sleeps before the next attempt (0
      when the gate does the waiting), or raises: the failure itself when it may not be
      retried or its budget is spent, :class:`GraphDeadlineExceeded` when the wait — its
      own, or the tenant gate's — would pass the deadline.

    A ``$batch`` answer reports all its sub-requests' failures before judging any, so every
    429 in it has reached the gate when the deadline is checked."""

    def __init__(self, policy: RetryPolicy, gate: TenantGate, deadline: float, *,
                 method: str, idempotent: bool, what: str) -> None:
        self.policy = policy
        self.gate = gate
        self.deadline = deadline  # loop time
        self.method = method.upper()
        self.idempotent = idempotent
        self.what = what  # "GET /beta/deviceManagement/…" for logs and messages: no query
        self.transient = 0
        self.throttled = 0
        self._delay = 0.0

    @property
    def count(self) -> int:
        return self.transient + self.throttled

    def failed(self, error: GraphError, admitted_at: float) -> None:
        """Count ``error``, an answer to the attempt admitted at loop time ``admitted_at``."""
        if isinstance(error, GraphThrottled):
            self.throttled += 1
            self._delay = self.policy.delay(error, self.throttled)
            self.gate.throttled(admitted_at, self._delay)
        else:
            self.transient += 1
            self._delay = self.policy.delay(error, self.transient)

    def retry_wait(self, error: GraphError, *, sent: bool = True) -> float:
        """Seconds to sleep before retrying after :meth:`failed` counted ``error``; raises
        when there is no retry. ``sent`` is False when the request never left us."""
        retry = self.policy.retryable(error, method=self.method, idempotent=self.idempotent,
                                      sent=sent)
        if not retry or not self.policy.attempts_left(error, self.transient, self.throttled):
            log.log(logging.WARNING if retry else logging.INFO,
                    "graph %s -> %s %s request-id=%s attempt=%d: giving up", self.what,
                    error.status, error.code, error.request_id, self.count)
            raise error
        now = asyncio.get_running_loop().time()
        if now + max(self._delay, self.gate.resume_at - now) > self.deadline:
            log.warning("graph %s -> %s request-id=%s attempt=%d: deadline reached",
                        self.what, error.status, error.request_id, self.count)
            raise GraphDeadlineExceeded(
                f"{self.what}: retries would pass the call's deadline (last: {error.code})",
                status=error.status, request_id=error.request_id,
            ) from error
        log.info("graph %s -> %s %s request-id=%s attempt=%d: retry in %.2fs", self.what,
                 error.status, error.code, error.request_id, self.count, self._delay)
        return 0.0 if isinstance(error, GraphThrottled) else self._delay


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
