"""Who is calling: bearer JWT validation against the configured issuer's JWKS (DESIGN §3).

RS256 only; ``iss``, ``aud``, ``exp`` and ``nbf`` checked with a small clock skew. Keys are
fetched over HTTPS with httpx and cached for a lifetime (a key the issuer withdrew stops being
trusted), and refreshed early when a token names an unknown ``kid`` (an issuer rotating its
keys). Every fetch attempt — first, expired, unknown kid, failed — counts against one rate
limit, so bad tokens cannot make us hammer the issuer in any state (issue 19, finding 7).

Only access tokens are accepted: a token carrying ID-token claims (``nonce``, ``at_hash``,
``c_hash``) or whose ``typ`` header is neither ``JWT`` nor ``at+jwt`` is refused, even when
its audience is ours. ``scp``/``roles`` are not required: a plain user token carries neither.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import jwt
from jwt.algorithms import RSAAlgorithm

from shared.platform.errors import DependencyUnavailable, Unauthenticated

log = logging.getLogger(__name__)

PLATFORM_ADMIN = "Platform.Admin"
CLOCK_SKEW_SECONDS = 60
MIN_REFRESH_INTERVAL_S = 5.0
KEYS_LIFETIME_S = 3600.0
ACCESS_TOKEN_TYPES = frozenset({"jwt", "at+jwt", "application/at+jwt"})
ID_TOKEN_CLAIMS = ("nonce", "at_hash", "c_hash")


@dataclass(frozen=True)
class Principal:
    oid: str
    roles: frozenset[str]

    @property
    def platform_admin(self) -> bool:
        return PLATFORM_ADMIN in self.roles


class JwksCache:
    """Public keys by ``kid`` for one JWKS URL, trusted for ``lifetime_s`` after a fetch.

    Fetches are attempted at most once per ``min_refresh_interval_s`` whatever the state —
    empty, expired, unknown kid, or after a failed fetch (then the caller gets a 503)."""

    def __init__(self, url: str, min_refresh_interval_s: float = MIN_REFRESH_INTERVAL_S, *,
                 lifetime_s: float = KEYS_LIFETIME_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._url = url
        self._min_refresh_interval_s = min_refresh_interval_s
        self._lifetime_s = lifetime_s
        self._clock = clock
        self._keys: dict[str, object] = {}
        self._fetched_at: float | None = None  # the keys' age; None: no keys yet
        self._attempted_at: float | None = None  # the last fetch attempt, failed or not
        self._lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return (self._fetched_at is not None
                and self._clock() - self._fetched_at < self._lifetime_s)

    def _may_fetch(self) -> bool:
        return (self._attempted_at is None
                or self._clock() - self._attempted_at >= self._min_refresh_interval_s)

    async def key(self, kid: str) -> object:
        if not (self._fresh() and kid in self._keys):
            async with self._lock:
                if not (self._fresh() and kid in self._keys):
                    if self._may_fetch():
                        await self._refresh()
                    elif not self._fresh():
                        raise DependencyUnavailable(
                            "the token issuer's keys are unavailable; retry")
        try:
            return self._keys[kid]
        except KeyError:
            raise Unauthenticated("token signed with an unknown key") from None

    async def _refresh(self) -> None:
        self._attempted_at = self._clock()
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                response = await client.get(self._url)
                response.raise_for_status()
                document = response.json()
            keys: dict[str, object] = {}
            for jwk in document.get("keys", []):
                if jwk.get("kty") == "RSA" and jwk.get("kid"):
                    keys[jwk["kid"]] = RSAAlgorithm.from_jwk(json.dumps(jwk))
        except (httpx.HTTPError, ValueError, AttributeError, TypeError,
                jwt.PyJWTError) as exc:
            log.warning("JWKS fetch failed: %s", type(exc).__name__)
            if not self._fresh():
                self._keys = {}  # expired keys are not trusted while the issuer is away
            raise DependencyUnavailable("the token issuer's keys are unavailable; retry") from exc
        self._fetched_at = self._clock()
        self._keys = keys


class TokenValidator:
    def __init__(self, *, issuer: str, audience: str, jwks_url: str,
                 min_refresh_interval_s: float = MIN_REFRESH_INTERVAL_S,
                 keys_lifetime_s: float = KEYS_LIFETIME_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._issuer = issuer
        self._audience = audience
        self._jwks = JwksCache(jwks_url, min_refresh_interval_s, lifetime_s=keys_lifetime_s,
                               clock=clock)

    async def principal(self, authorization: str | None) -> Principal:
        """The caller behind an ``Authorization`` header; raises :class:`Unauthenticated`."""
        if not authorization or not authorization.lower().startswith("bearer "):
            raise Unauthenticated("a bearer token is required")
        token = authorization[7:].strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated("the bearer token is malformed") from exc
        if header.get("alg") != "RS256" or not header.get("kid"):
            raise Unauthenticated("the bearer token must be RS256 with a key id")
        if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
            raise Unauthenticated("the bearer token is not an access token")
        key = await self._jwks.key(header["kid"])
        try:
            claims = jwt.decode(
                token,
                key=key,  # type: ignore[arg-type]
                algorithms=["RS256"],
                audience=self._audience,
                issuer=self._issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "aud", "oid"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the bearer token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"the bearer token is invalid ({type(exc).__name__})") from exc
        if any(name in claims for name in ID_TOKEN_CLAIMS):
            raise Unauthenticated("the bearer token is an ID token, not an access token")
        roles = claims.get("roles") or []
        if not isinstance(roles, list):
            roles = []
        return Principal(oid=str(claims["oid"]), roles=frozenset(map(str, roles)))
