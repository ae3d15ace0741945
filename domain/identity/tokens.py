"""Bearer token verification for Supabase-style JWTs, locally and cheaply.

HS256 tokens are checked with the shared secret (``SUPABASE_JWT_SECRET``);
ES256 and RS256 tokens with public keys from a JWKS URL, fetched once, cached,
and fetched again only when a token names a key id we have not seen (rate
limited, so forged kids cannot make us hammer the auth server). The algorithm
is decided by our configuration, never trusted from the token alone: ``none``
is refused, an HS256 token is refused when only public keys are configured,
and an asymmetric token is never checked against the HMAC secret.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt

from foundation.errors import NotPermitted, Unauthenticated

LEEWAY_SECONDS = 30
ASYMMETRIC = ("ES256", "RS256")
# At most one JWKS fetch per this many seconds for unknown key ids.
JWKS_REFETCH_SECONDS = 30.0


class Unauthorized(Unauthenticated):
    slug = "unauthorized"
    title = "Unauthorized"


class TokenRevoked(Unauthorized):
    """A valid token whose user's tokens were revoked since it was issued (an erasure)."""


class Forbidden(NotPermitted):
    slug = "forbidden"
    title = "Forbidden"


ROLES = ("passenger", "agent", "ops", "admin")

NUMERIC_DATES = ("exp", "nbf", "iat")
# 9999-12-31T23:59:59Z: the last second a datetime can hold.
LATEST_NUMERIC_DATE = 253_402_300_799


def _implausible_date(payload: dict[str, Any]) -> str | None:
    """The first NumericDate claim that is not a number of seconds in years 1970-9999.

    PyJWT accepts numeric strings and numbers of any size, which later fail as
    datetimes and timers (a ticket's session end, a WebSocket's expiry) with a 500.
    """
    for name in NUMERIC_DATES:
        if name not in payload:
            continue
        value = payload[name]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 <= value <= LATEST_NUMERIC_DATE
        ):
            return name
    return None


@dataclass(frozen=True, slots=True)
class Claims:
    """A verified token's identity, Supabase's claims plus Skybound's roles."""

    user_id: uuid.UUID
    role: str
    expires_at: int
    email: str | None = None
    # When the token was issued (iat), to compare with a revocation; None: unknown.
    issued_at: int | None = None
    session_id: str | None = None
    is_anonymous: bool = False
    app_roles: frozenset[str] = frozenset({"passenger"})
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Claims:
        app_metadata = payload.get("app_metadata") or {}
        declared = app_metadata.get("roles") if isinstance(app_metadata, dict) else None
        roles = {"passenger"}
        if isinstance(declared, list):
            roles |= {r for r in declared if isinstance(r, str) and r in ROLES}
        return cls(
            user_id=uuid.UUID(str(payload["sub"])),
            role=str(payload.get("role", "authenticated")),
            expires_at=int(payload["exp"]),
            issued_at=int(payload["iat"]) if isinstance(payload.get("iat"), int | float) else None,
            email=payload.get("email") if isinstance(payload.get("email"), str) else None,
            session_id=str(payload["session_id"]) if payload.get("session_id") else None,
            is_anonymous=bool(payload.get("is_anonymous", False)),
            app_roles=frozenset(roles),
            raw=payload,
        )


class KeySetSource(Protocol):
    """Where an identity provider's public keys come from (a JWKS document)."""

    async def fetch(self) -> dict[str, Any] | None: ...

    async def close(self) -> None: ...


class Confirmer(Protocol):
    """A second opinion on a verified token (strict mode: domain.identity.confirmation)."""

    async def confirm(self, token: str) -> None: ...

    async def close(self) -> None: ...


class TokenVerifier:
    def __init__(
        self,
        *,
        secret: str | None,
        audience: str,
        issuer: str | None = None,
        jwks: KeySetSource | None = None,
        confirmer: Confirmer | None = None,
    ) -> None:
        self.secret = secret
        self.audience = audience
        self.issuer = issuer
        self.jwks = jwks
        self.confirmer = confirmer
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._fetch_lock = asyncio.Lock()
        # Verified tokens, by their exact text: a client sends the same token for an
        # hour, and its signature need be checked once. Expiry is rechecked on every use.
        self._verified: OrderedDict[str, Claims] = OrderedDict()
        self.cache_size = 10_000

    @property
    def configured(self) -> bool:
        return bool(self.secret or self.jwks)

    async def close(self) -> None:
        if self.jwks is not None:
            await self.jwks.close()
        if self.confirmer is not None:
            await self.confirmer.close()

    async def verify(self, token: str) -> Claims:
        claims = await self._signed(token)
        if self.confirmer is not None:
            await self.confirmer.confirm(token)
        return claims

    async def _signed(self, token: str) -> Claims:
        cached = self._verified.get(token)
        if cached is not None:
            if cached.expires_at + LEEWAY_SECONDS > time.time():
                self._verified.move_to_end(token)
                return cached
            del self._verified[token]
        claims = await self._verify(token)
        nbf = claims.raw.get("nbf")
        if not isinstance(nbf, int | float) or nbf <= time.time():
            self._verified[token] = claims
            if len(self._verified) > self.cache_size:
                self._verified.popitem(last=False)
        return claims

    async def _verify(self, token: str) -> Claims:
        if not self.configured:
            raise Unauthorized("Token verification is not configured.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthorized("Malformed bearer token.") from None
        algorithm = header.get("alg")
        if algorithm == "HS256" and self.secret:
            key: Any = self.secret
        elif algorithm in ASYMMETRIC and self.jwks is not None:
            key = await self._public_key(header.get("kid"), algorithm)
        else:
            raise Unauthorized(f"Tokens signed with {algorithm!r} are not accepted.")
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "sub"], "verify_iss": self.issuer is not None},
            )
            implausible = _implausible_date(payload)
            if implausible is not None:
                raise Unauthorized(f"Invalid bearer token: {implausible} is not a NumericDate.")
            return Claims.from_payload(payload)
        except (jwt.InvalidTokenError, ValueError, KeyError) as exc:
            raise Unauthorized(f"Invalid bearer token: {_reason(exc)}.") from None

    async def _public_key(self, kid: object, algorithm: str) -> Any:
        if not isinstance(kid, str):
            raise Unauthorized("Token has no key id.")
        key = self._keys.get(kid)
        if key is None:
            await self._refresh()
            key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("Token signed with an unknown key.")
        if key.algorithm_name != algorithm:
            raise Unauthorized("Token algorithm does not match its key.")
        return key.key

    async def _refresh(self) -> None:
        """Fetch the JWKS unless it was fetched in the last JWKS_REFETCH_SECONDS. A
        request that arrives while a fetch is under way waits for it (the first
        requests after a start all need the keys), and then finds it fresh."""
        async with self._fetch_lock:
            fetched_at = self._fetched_at
            if fetched_at is not None and time.monotonic() - fetched_at < JWKS_REFETCH_SECONDS:
                return
            self._fetched_at = time.monotonic()
            assert self.jwks is not None
            document = await self.jwks.fetch()
            if document is None:
                return  # logged by the source; the keys we had stay in use
            keys = {}
            for entry in document.get("keys", []):
                if isinstance(entry, dict) and entry.get("kid"):
                    try:
                        keys[entry["kid"]] = jwt.PyJWK(entry)
                    except jwt.PyJWKError:
                        continue  # a key type we do not use
            self._keys = keys


def _reason(exc: Exception) -> str:
    names = {
        jwt.ExpiredSignatureError: "expired",
        jwt.ImmatureSignatureError: "not yet valid",
        jwt.InvalidAudienceError: "wrong audience",
        jwt.InvalidIssuerError: "wrong issuer",
        jwt.InvalidSignatureError: "bad signature",
        jwt.MissingRequiredClaimError: "missing claim",
    }
    for kind, text in names.items():
        if isinstance(exc, kind):
            return text
    return "unreadable"


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
