"""Caller token validation against a real JWKS endpoint whose keys the test rotates."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.platform.errors import DependencyUnavailable, Unauthenticated
from shared.tenants.auth import CLOCK_SKEW_SECONDS, TokenValidator

ISSUER, AUDIENCE = "https://issuer.example/v2.0", "api://policyvault"


class Issuer:
    """An identity provider's signing keys, published on a local JWKS endpoint."""

    def __init__(self) -> None:
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.fetches = 0
        self.down = False  # answers 503 while set
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                issuer.fetches += 1
                if issuer.down:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"keys": [
                    {**json.loads(RSAAlgorithm.to_jwk(k.public_key())), "kid": kid}
                    for kid, k in issuer.keys.items()]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.jwks_url = f"http://127.0.0.1:{self.server.server_port}/keys"

    def new_key(self) -> str:
        kid = uuid.uuid4().hex[:8]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return kid

    def token(self, kid: str, typ: str | None = "JWT", **claims: object) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "oid": "engineer-1", "iat": now, "nbf": now,
                "exp": now + 600, "roles": ["Platform.Admin"], **claims}
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, self.keys[kid], algorithm="RS256",
                          headers={"kid": kid, "typ": typ})


class Clock:
    """A monotonic clock the test moves by hand: lifetimes and rate limits without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    server = Issuer()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def validator(issuer: Issuer) -> TokenValidator:
    return TokenValidator(issuer=ISSUER, audience=AUDIENCE, jwks_url=issuer.jwks_url)


@pytest.mark.anyio
async def test_a_valid_token_names_the_caller_and_keys_are_fetched_once(issuer, validator):
    kid = issuer.new_key()

    first = await validator.principal(f"Bearer {issuer.token(kid)}")
    second = await validator.principal(f"Bearer {issuer.token(kid, oid='engineer-2')}")

    assert (first.oid, first.platform_admin) == ("engineer-1", True)
    assert second.oid == "engineer-2"
    assert issuer.fetches == 1


@pytest.mark.anyio
async def test_a_rotated_key_is_picked_up_by_one_refresh(issuer):
    validator = TokenValidator(issuer=ISSUER, audience=AUDIENCE, jwks_url=issuer.jwks_url,
                               min_refresh_interval_s=0)  # the rotation comes right away here
    old = issuer.new_key()
    await validator.principal(f"Bearer {issuer.token(old)}")
    new = issuer.new_key()  # the issuer rotates; the cache predates the new kid

    principal = await validator.principal(f"Bearer {issuer.token(new)}")

    assert principal.oid == "engineer-1"
    assert issuer.fetches == 2


@pytest.mark.anyio
async def test_unknown_kids_cannot_make_the_validator_hammer_the_issuer(issuer, validator):
    kid = issuer.new_key()
    await validator.principal(f"Bearer {issuer.token(kid)}")
    forged = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    for _ in range(5):
        token = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "oid": "x", "exp": 2**31},
                           forged, algorithm="RS256", headers={"kid": uuid.uuid4().hex})
        with pytest.raises(Unauthenticated):
            await validator.principal(f"Bearer {token}")

    assert issuer.fetches == 1  # unknown kids right after a fetch trigger no refresh


@pytest.mark.anyio
@pytest.mark.parametrize("offsets, accepted", [
    ({"nbf": CLOCK_SKEW_SECONDS // 2}, True),  # the issuer's clock is a little ahead
    ({"exp": -CLOCK_SKEW_SECONDS // 2}, True),  # just expired, within the skew
    ({"exp": -CLOCK_SKEW_SECONDS * 2}, False),
    ({"nbf": CLOCK_SKEW_SECONDS * 2}, False),
    ({"aud": "api://someone-else"}, False),
    ({"iss": "https://another-issuer.example/v2.0"}, False),
    ({"oid": None}, False),
])
async def test_clock_skew_audience_issuer_and_caller_claims(issuer, validator, offsets,
                                                            accepted):
    kid = issuer.new_key()
    now = int(time.time())
    claims = {k: now + v if k in ("nbf", "exp") else v for k, v in offsets.items()}
    token = issuer.token(kid, **claims)
    if claims.get("oid", "") is None:
        token = jwt.encode({k: v for k, v in jwt.decode(token, options={
            "verify_signature": False}).items() if k != "oid"},
            issuer.keys[kid], algorithm="RS256", headers={"kid": kid})

    if accepted:
        assert (await validator.principal(f"Bearer {token}")).oid == "engineer-1"
    else:
        with pytest.raises(Unauthenticated) as refused:
            await validator.principal(f"Bearer {token}")
        assert token not in str(refused.value)


@pytest.mark.anyio
@pytest.mark.parametrize("header", [
    None, "", "Basic dXNlcjpwYXNz", "Bearer not.a.jwt",
    "Bearer " + jwt.encode({"oid": "x"}, "s" * 32, algorithm="HS256"),
])
async def test_missing_malformed_or_symmetric_tokens_are_refused(validator, header):
    with pytest.raises(Unauthenticated):
        await validator.principal(header)


@pytest.mark.anyio
async def test_an_unreachable_issuer_is_a_retryable_503_not_a_bad_token(issuer):
    kid = issuer.new_key()
    token = issuer.token(kid)
    issuer.server.shutdown()
    issuer.server.server_close()
    validator = TokenValidator(issuer=ISSUER, audience=AUDIENCE, jwks_url=issuer.jwks_url)

    with pytest.raises(DependencyUnavailable) as unavailable:
        await validator.principal(f"Bearer {token}")

    assert unavailable.value.http_status == 503


# ---- issue 19, finding 7: key lifetime, rate limit in every state, access tokens only -------
@pytest.fixture
def clock() -> Clock:
    return Clock()


def _timed(issuer: Issuer, clock: Clock) -> TokenValidator:
    return TokenValidator(issuer=ISSUER, audience=AUDIENCE, jwks_url=issuer.jwks_url,
                          min_refresh_interval_s=5, keys_lifetime_s=3600, clock=clock)


@pytest.mark.anyio
async def test_a_key_the_issuer_withdrew_stops_being_trusted_after_the_cache_lifetime(
        issuer, clock):
    validator = _timed(issuer, clock)
    kid = issuer.new_key()
    token = issuer.token(kid)
    await validator.principal(f"Bearer {token}")
    del issuer.keys[kid]  # withdrawn (compromised, rotated out)

    clock.now += 3599
    assert (await validator.principal(f"Bearer {token}")).oid == "engineer-1"
    clock.now += 2
    with pytest.raises(Unauthenticated):
        await validator.principal(f"Bearer {token}")
    assert issuer.fetches == 2


@pytest.mark.anyio
async def test_expired_keys_are_not_used_while_the_issuer_is_down(issuer, clock):
    validator = _timed(issuer, clock)
    kid = issuer.new_key()
    token = issuer.token(kid)
    await validator.principal(f"Bearer {token}")
    issuer.down = True
    clock.now += 3601

    for _ in range(3):
        with pytest.raises(DependencyUnavailable):
            await validator.principal(f"Bearer {token}")

    assert issuer.fetches == 2  # one refresh attempt in the interval, not one per request


@pytest.mark.anyio
async def test_bad_tokens_while_the_cache_is_empty_and_the_issuer_fails_fetch_once(
        issuer, clock):
    validator = _timed(issuer, clock)
    issuer.down = True
    forged = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    async def bad_token() -> None:
        token = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "oid": "x", "exp": 2**31},
                           forged, algorithm="RS256", headers={"kid": uuid.uuid4().hex})
        with pytest.raises(DependencyUnavailable):
            await validator.principal(f"Bearer {token}")

    await asyncio.gather(*(bad_token() for _ in range(10)))
    assert issuer.fetches == 1
    clock.now += 5  # the interval has passed: one more attempt, and the issuer is back
    issuer.down = False
    kid = issuer.new_key()
    assert (await validator.principal(f"Bearer {issuer.token(kid)}")).oid == "engineer-1"
    assert issuer.fetches == 2


@pytest.mark.anyio
async def test_unknown_kids_with_empty_issuer_keys_fetch_once_per_interval(issuer, clock):
    validator = _timed(issuer, clock)  # the issuer publishes no key at all
    forged = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for _ in range(5):
        token = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "oid": "x", "exp": 2**31},
                           forged, algorithm="RS256", headers={"kid": uuid.uuid4().hex})
        with pytest.raises(Unauthenticated):
            await validator.principal(f"Bearer {token}")
    assert issuer.fetches == 1


@pytest.mark.anyio
@pytest.mark.parametrize("claim", ["nonce", "at_hash", "c_hash"])
async def test_a_token_with_id_token_claims_is_refused(issuer, validator, claim):
    kid = issuer.new_key()
    with pytest.raises(Unauthenticated):
        await validator.principal(f"Bearer {issuer.token(kid, **{claim: 'abc'})}")


@pytest.mark.anyio
@pytest.mark.parametrize("typ, accepted", [
    ("JWT", True), ("at+jwt", True), ("at+JWT", True), ("application/at+jwt", True),
    (None, False), ("id+jwt", False), ("dpop+jwt", False), ("logout+jwt", False),
])
async def test_only_access_token_types_are_accepted(issuer, validator, typ, accepted):
    kid = issuer.new_key()
    token = issuer.token(kid, typ=typ)
    if accepted:
        assert (await validator.principal(f"Bearer {token}")).oid == "engineer-1"
    else:
        with pytest.raises(Unauthenticated):
            await validator.principal(f"Bearer {token}")


@pytest.mark.anyio
async def test_a_plain_user_token_without_scp_or_roles_is_accepted(issuer, validator):
    kid = issuer.new_key()
    principal = await validator.principal(f"Bearer {issuer.token(kid, roles=None)}")
    assert (principal.oid, principal.platform_admin) == ("engineer-1", False)
