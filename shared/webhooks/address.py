"""Where a webhook may point (DESIGN §13): an ``https`` URL whose host resolves only to
public addresses — never private, loopback, link-local, CGNAT (100.64/10), unspecified,
multicast, IPv4-mapped (or another IPv6 form that embeds an IPv4 address) or the platform's
own (Azure's wire server 168.63.129.16, the instance metadata service 169.254.169.254).

The same check runs when a webhook is registered and again before every delivery, on the
addresses the sender then connects to (:func:`resolve_checked`), so a name that changes to an
internal address after registration is refused at connect time too. Exact host names on the
allow-list (``PV_WEBHOOK_ALLOWED_HOSTS``) skip only the address check.

URL query strings are secrets (a Logic Apps trigger URL carries ``sig=``): :func:`shown`
is the form every output uses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from urllib.parse import urlsplit

from shared.platform.errors import ValidationFailed

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
MAX_URL_LENGTH = 2048
RESOLVE_TIMEOUT_S = 5.0
REDACTED_QUERY = "[redacted]"
PLATFORM_ADDRESSES = frozenset(map(ipaddress.ip_address, ("168.63.129.16", "169.254.169.254",
                                                          "fd00:ec2::254")))
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class AddressRefused(ValidationFailed):
    """Raised when a webhook URL or the address its host resolves to may not be called."""


class Unresolvable(AddressRefused):
    """Raised when a webhook's host does not resolve (in time): refused at registration, but
    worth another try at delivery."""


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: what the sender connects to and what it sends as Host."""

    url: str
    host: str  # lower-case name, or the literal IP without brackets
    port: int
    path: str  # path and query, as sent in the request line

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == 443 else f"{name}:{self.port}"


def parse_url(url: str) -> Target:
    """``url`` if it is an absolute ``https`` URL without credentials; else AddressRefused."""
    if len(url) > MAX_URL_LENGTH:
        raise AddressRefused(f"url: at most {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise AddressRefused("url: must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port or 443
        host = (parts.hostname or "").rstrip(".")
    except ValueError as exc:
        raise AddressRefused("url: not a valid URL") from exc
    if parts.scheme.lower() != "https":
        raise AddressRefused("url: only https URLs may receive webhooks")
    if not host:
        raise AddressRefused("url: has no host")
    if not is_literal(host):
        try:
            host.encode("idna")  # a label empty or over 63 characters cannot be resolved
        except UnicodeError as exc:
            raise AddressRefused("url: the host is not a valid name") from exc
    if parts.username is not None or parts.password is not None:
        raise AddressRefused("url: must not carry a user name or password")
    if parts.fragment:
        raise AddressRefused("url: must not have a fragment")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(url=url, host=host.lower(), port=port, path=path)


def is_literal(host: str) -> bool:
    """Whether ``host`` is an IP address rather than a name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def shown(url: str) -> str:
    """``url`` as every output shows it: the query string (a secret) replaced."""
    base, sep, _ = url.partition("?")
    return f"{base}?{REDACTED_QUERY}" if sep else base


def refusal(address: IpAddress) -> str | None:
    """Why ``address`` may not receive a webhook, or None when it may."""
    if address in PLATFORM_ADDRESSES:
        return "a platform address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (
            address.teredo[1] if address.teredo else None)
        if embedded is not None or address in _NAT64:
            return "an IPv6 address that embeds an IPv4 address"
        if address.scope_id:
            return "a scoped IPv6 address"
    for reason, applies in (
        ("a loopback address", address.is_loopback),
        ("an unspecified address", address.is_unspecified),
        ("a link-local address", address.is_link_local),
        ("a shared (CGNAT) address", address in _CGNAT),
        ("a multicast address", address.is_multicast),
        ("a private address", address.is_private),
        ("a reserved address", address.is_reserved or not address.is_global),
    ):
        if applies:
            return reason
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IPv4 and IPv6), in the resolver's order."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    found: list[str] = []
    for info in infos:
        ip = str(info[4][0])
        if ip not in found:
            found.append(ip)
    return found


async def resolve_checked(target: Target, allowed_hosts: Collection[str],
                          resolver: Resolver = system_resolver) -> list[str]:
    """The addresses to connect to for ``target``: all of them public, unless its host is on
    the allow-list. One refused address refuses the URL (a name may not mix in an internal
    address for the sender to stumble on)."""
    try:
        literal: IpAddress | None = ipaddress.ip_address(target.host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_S):
                addresses = await resolver(target.host, target.port)
        except (OSError, TimeoutError) as exc:
            raise Unresolvable(f"url: the host {target.host} does not resolve") from exc
        if not addresses:
            raise Unresolvable(f"url: the host {target.host} does not resolve")
    if target.host in allowed_hosts:
        return addresses
    for text in addresses:
        reason = refusal(ipaddress.ip_address(text.split("%", 1)[0]))
        if reason is not None:
            raise AddressRefused(f"url: the host {target.host} resolves to {reason}")
    return addresses


__all__ = ["AddressRefused", "Resolver", "Target", "Unresolvable", "is_literal", "parse_url",
           "refusal", "resolve_checked", "shown", "system_resolver"]
