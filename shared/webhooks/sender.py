"""One webhook POST, to an address that was checked (DESIGN §13).

The host is resolved and every address checked (:func:`resolve_checked`) right before the
connection, and the connection goes to one of those checked addresses — the URL's host is
only the ``Host`` header and the TLS server name (SNI, and what the certificate must name) —
so nothing can re-resolve the name between the check and the connection. No redirect is
followed, the answer is read to at most :data:`MAX_ANSWER_BYTES`, and the whole attempt is
bounded by :data:`ATTEMPT_TIMEOUT_S`. Environment proxies are not used (a proxy would resolve
the name itself), and nothing logs the URL (its query string is a secret).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection
from dataclasses import dataclass

import httpx

from shared.webhooks.address import (
    AddressRefused,
    Resolver,
    Target,
    Unresolvable,
    is_literal,
    resolve_checked,
    system_resolver,
)

CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 10.0
ATTEMPT_TIMEOUT_S = 15.0
MAX_ANSWER_BYTES = 64 * 1024
RETRYABLE_STATUSES = frozenset({408, 429})  # besides every 5xx


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: an HTTP status, or an ``error`` of our own vocabulary
    (``timeout``, ``connection_failed`` — also a host that does not resolve —,
    ``address_refused``, ``redirect_not_followed``,
    ``http_error``), and whether trying again later may help."""

    delivered: bool
    retryable: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0


def _classify(status: int) -> tuple[bool, bool, str | None]:
    if 200 <= status < 300:
        return True, False, None
    if 300 <= status < 400:
        return False, False, "redirect_not_followed"
    return False, status >= 500 or status in RETRYABLE_STATUSES, "http_error"


async def post(target: Target, headers: dict[str, str], body: bytes, *,
               allowed_hosts: Collection[str], resolver: Resolver = system_resolver,
               transport: httpx.AsyncBaseTransport | None = None) -> Outcome:
    """POST ``body`` to ``target``; never raises for anything the receiver or network does."""
    started = time.monotonic()

    def done(delivered: bool, retryable: bool, status: int | None = None,
             error: str | None = None) -> Outcome:
        return Outcome(delivered, retryable, status, error,
                       int((time.monotonic() - started) * 1000))

    try:
        async with asyncio.timeout(ATTEMPT_TIMEOUT_S):
            addresses = await resolve_checked(target, allowed_hosts, resolver)
            status = await _post_first_reachable(target, addresses, headers, body, transport)
    except Unresolvable:  # DNS may answer next time
        return done(False, True, error="connection_failed")
    except AddressRefused:
        return done(False, False, error="address_refused")
    except (TimeoutError, httpx.TimeoutException):
        return done(False, True, error="timeout")
    except httpx.TransportError:  # refused, reset, TLS failure, a broken answer
        return done(False, True, error="connection_failed")
    delivered, retryable, error = _classify(status)
    return done(delivered, retryable, status, error)


async def _post_first_reachable(target: Target, addresses: list[str], headers: dict[str, str],
                                body: bytes, transport: httpx.AsyncBaseTransport | None) -> int:
    """The status of the POST to the first of ``addresses`` that accepts a connection.

    The transport is used without an ``httpx.AsyncClient``: the client logs each request's
    URL, and a webhook URL's query string is a secret."""
    sni = None if is_literal(target.host) else target.host
    timeout = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S).as_dict()
    async with transport or httpx.AsyncHTTPTransport(retries=0) as sending:
        for n, address in enumerate(addresses):
            host = f"[{address}]" if ":" in address else address
            request = httpx.Request(
                "POST", f"https://{host}:{target.port}{target.path}", content=body,
                headers={**headers, "host": target.host_header, "user-agent": "PolicyVault"},
                extensions={"timeout": timeout, **({"sni_hostname": sni} if sni else {})})
            try:
                response = await sending.handle_async_request(request)
            except httpx.ConnectError:
                if n == len(addresses) - 1:
                    raise
                continue
            try:
                read = 0
                async for chunk in response.stream:  # type: ignore[union-attr]
                    read += len(chunk)
                    if read >= MAX_ANSWER_BYTES:
                        break
            finally:
                await response.aclose()
            return response.status_code
    raise httpx.ConnectError("no address to connect to")


__all__ = ["MAX_ANSWER_BYTES", "Outcome", "post"]
