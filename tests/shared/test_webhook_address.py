"""Where a webhook may point (DESIGN §13): the URL rules and the address check."""

from __future__ import annotations

import ipaddress

import pytest

from shared.webhooks.address import (
    AddressRefused,
    parse_url,
    refusal,
    resolve_checked,
    shown,
    system_resolver,
)

pytestmark = pytest.mark.anyio


def _resolver(mapping: dict[str, list[str]]):
    async def resolve(host: str, port: int) -> list[str]:
        if host not in mapping:
            raise OSError("no such host")
        return mapping[host]
    return resolve


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.1.1",
    "169.254.169.254", "168.63.129.16", "100.64.0.1", "100.127.255.254", "0.0.0.0",
    "224.0.0.1", "255.255.255.255", "192.0.2.1", "::1", "::", "fe80::1", "fc00::1", "fd12::1",
    "::ffff:127.0.0.1", "::ffff:8.8.8.8", "64:ff9b::a00:1", "2002:7f00:1::1", "ff02::1",
    "fd00:ec2::254",
])
def test_refusal_internal_and_platform_addresses_are_refused(address):
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "20.190.160.1", "100.128.0.1",
                                     "2606:4700:4700::1111"])
def test_refusal_public_addresses_are_allowed(address):
    assert refusal(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize("url", [
    "http://hooks.example.com/x", "ftp://hooks.example.com/x", "https:///nohost",
    "https://user:pw@hooks.example.com/x", "https://hooks.example.com/x#frag",
    "https://hooks.example.com/a b", "//hooks.example.com/x", "https://hooks.example.com:99999/",
    "https://" + "a" * 2100 + ".com/", "https://a..b/", "https://" + "a" * 64 + ".example.com/",
])
def test_parse_url_anything_but_a_plain_https_url_is_refused(url):
    with pytest.raises(AddressRefused):
        parse_url(url)


def test_parse_url_keeps_port_path_and_query_for_the_request_line():
    target = parse_url("https://Hooks.Example.com:8443/in/x?sig=abc&v=1")

    assert (target.host, target.port, target.path) == ("hooks.example.com", 8443,
                                                       "/in/x?sig=abc&v=1")
    assert target.host_header == "hooks.example.com:8443"


def test_shown_the_query_string_is_redacted():
    assert shown("https://x.logic.azure.com/workflows/1?sig=SECRET&sp=%2F") == (
        "https://x.logic.azure.com/workflows/1?[redacted]")
    assert shown("https://hooks.example.com/x") == "https://hooks.example.com/x"


async def test_resolve_checked_a_name_with_one_internal_address_is_refused():
    resolver = _resolver({"hooks.example.com": ["8.8.8.8", "10.0.0.5"]})

    with pytest.raises(AddressRefused, match="private"):
        await resolve_checked(parse_url("https://hooks.example.com/"), frozenset(), resolver)


async def test_resolve_checked_public_names_give_their_addresses_to_connect_to():
    resolver = _resolver({"hooks.example.com": ["8.8.8.8", "2606:4700:4700::1111"]})

    assert await resolve_checked(parse_url("https://hooks.example.com/"), frozenset(),
                                 resolver) == ["8.8.8.8", "2606:4700:4700::1111"]


async def test_resolve_checked_literal_addresses_are_checked_without_resolving():
    for url in ("https://127.0.0.1/", "https://[::ffff:127.0.0.1]/", "https://169.254.169.254/"):
        with pytest.raises(AddressRefused):
            await resolve_checked(parse_url(url), frozenset(), _resolver({}))


async def test_resolve_checked_a_name_that_does_not_resolve_is_refused():
    with pytest.raises(AddressRefused, match="does not resolve"):
        await resolve_checked(parse_url("https://nowhere.invalid/"), frozenset(), _resolver({}))


async def test_resolve_checked_localhost_is_refused_unless_allow_listed():
    """The system resolver: a real name that resolves to loopback."""
    target = parse_url("https://localhost:8443/hook")

    with pytest.raises(AddressRefused, match="loopback"):
        await resolve_checked(target, frozenset(), system_resolver)
    addresses = await resolve_checked(target, frozenset({"localhost"}), system_resolver)
    assert addresses and all(ipaddress.ip_address(a).is_loopback for a in addresses)


async def test_resolve_checked_the_allow_list_is_exact_host_names():
    resolver = _resolver({"hooks.localhost": ["127.0.0.1"]})

    with pytest.raises(AddressRefused):
        await resolve_checked(parse_url("https://hooks.localhost/"), frozenset({"localhost"}),
                              resolver)
