"""Bearer token verification (Supabase-style JWTs).

For now: HS256 with the configured secret, audience checked, ``exp``/``nbf``
enforced with a small leeway. JWKS keys, roles and the built-in auth service
build on this module.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from server.errors import SkyboundError

LEEWAY_SECONDS = 30
ALGORITHMS = ["HS256"]


class Unauthorized(SkyboundError):
    status = 401
    slug = "unauthorized"
    title = "Unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="skybound"'}


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: uuid.UUID
    role: str
    expires_at: int
    raw: dict[str, Any]


def verify_token(token: str, *, secret: str | None, audience: str) -> Claims:
    if not secret:
        raise Unauthorized("Token verification is not configured (SUPABASE_JWT_SECRET).")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=ALGORITHMS,
            audience=audience,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "sub"]},
        )
        user_id = uuid.UUID(str(claims["sub"]))
    except (jwt.InvalidTokenError, ValueError) as exc:
        raise Unauthorized(f"Invalid bearer token: {type(exc).__name__}.") from None
    return Claims(user_id, str(claims.get("role", "authenticated")), int(claims["exp"]), claims)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
