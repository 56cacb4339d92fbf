"""Who is calling: bearer JWT validation against the configured issuer's JWKS (DESIGN §3).

RS256 only; ``iss``, ``aud``, ``exp`` and ``nbf`` checked with a small clock skew. Keys are
fetched over HTTPS with httpx, cached, and refreshed once when a token names an unknown
``kid`` (an issuer rotating its keys) — at most once every few seconds, so tokens with forged
kids cannot make us hammer the issuer.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass

import httpx
import jwt
from jwt.algorithms import RSAAlgorithm

from shared.platform.errors import DependencyUnavailable, Unauthenticated

log = logging.getLogger(__name__)

PLATFORM_ADMIN = "Platform.Admin"
CLOCK_SKEW_SECONDS = 60
MIN_REFRESH_INTERVAL_S = 5.0


@dataclass(frozen=True)
class Principal:
    oid: str
    roles: frozenset[str]

    @property
    def platform_admin(self) -> bool:
        return PLATFORM_ADMIN in self.roles


class JwksCache:
    """Public keys by ``kid`` for one JWKS URL."""

    def __init__(self, url: str, min_refresh_interval_s: float = MIN_REFRESH_INTERVAL_S) -> None:
        self._url = url
        self._min_refresh_interval_s = min_refresh_interval_s
        self._keys: dict[str, object] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> object:
        if kid not in self._keys:
            async with self._lock:
                since = time.monotonic() - self._fetched_at
                if kid not in self._keys and (
                        not self._keys or since >= self._min_refresh_interval_s):
                    await self._refresh()
        try:
            return self._keys[kid]
        except KeyError:
            raise Unauthenticated("token signed with an unknown key") from None

    async def _refresh(self) -> None:
        try:
            async with httpx.AsyncClient(timeout=10.0) as client:
                response = await client.get(self._url)
                response.raise_for_status()
                document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("JWKS fetch failed: %s", type(exc).__name__)
            raise DependencyUnavailable("the token issuer's keys are unavailable; retry") from exc
        self._fetched_at = time.monotonic()
        keys: dict[str, object] = {}
        for jwk in document.get("keys", []):
            if jwk.get("kty") == "RSA" and jwk.get("kid"):
                keys[jwk["kid"]] = RSAAlgorithm.from_jwk(json.dumps(jwk))
        self._keys = keys


class TokenValidator:
    def __init__(self, *, issuer: str, audience: str, jwks_url: str,
                 min_refresh_interval_s: float = MIN_REFRESH_INTERVAL_S) -> None:
        self._issuer = issuer
        self._audience = audience
        self._jwks = JwksCache(jwks_url, min_refresh_interval_s)

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
        roles = claims.get("roles") or []
        if not isinstance(roles, list):
            roles = []
        return Principal(oid=str(claims["oid"]), roles=frozenset(map(str, roles)))
