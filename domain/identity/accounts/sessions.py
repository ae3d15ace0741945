"""Sessions, rotating refresh tokens, and the access tokens (JWTs) they mint.

A session is a token family: the refresh token issued at sign-in is exchanged
for a successor on every refresh, and the old one is marked rotated. Presenting
a rotated token again means two parties hold the family (one of them stole it),
so the whole session is revoked and every token in it, the newest included,
stops working. Refresh tokens are 256-bit random strings stored only as SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import asyncpg
import jwt
from pydantic import BaseModel, ConfigDict

from domain.identity.accounts import Executor, examples
from domain.identity.accounts.errors import (
    AuthError,
    RefreshTokenAlreadyUsed,
    RefreshTokenNotFound,
    SessionExpired,
)
from domain.identity.accounts.users import AuthUser

Method = Literal["password", "recovery", "oauth"]
RevokeReason = Literal[
    "logout", "refresh_token_reuse", "password_changed", "revoked_by_admin", "banned"
]


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class AuthSession(BaseModel):
    """GoTrue's session: what sign-up, sign-in, refresh and verify answer."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.AUTH_SESSION]})

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    expires_at: int
    refresh_token: str
    user: AuthUser


@dataclass(frozen=True, slots=True)
class TokenSigner:
    """Mints HS256 access tokens with Supabase's claims, verifiable by TokenVerifier."""

    secret: str
    audience: str
    issuer: str
    lifetime_seconds: int

    def access_token(
        self, user: AuthUser, session_id: uuid.UUID, method: str, authenticated_at: int,
        valid_from: int | None = None,
    ) -> tuple[str, int]:  # fmt: skip
        # At most a second ahead (see _CREATE_SESSION), well within the verifier's leeway.
        now = max(int(time.time()), valid_from or 0)
        expires_at = now + self.lifetime_seconds
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": str(user.id),
            "aud": self.audience,
            "exp": expires_at,
            "iat": now,
            "email": user.email,
            "phone": "",
            "app_metadata": user.app_metadata,
            "user_metadata": user.user_metadata,
            "role": "authenticated",
            "aal": "aal1",
            "amr": [{"method": method, "timestamp": authenticated_at}],
            "session_id": str(session_id),
            "is_anonymous": False,
        }
        return jwt.encode(claims, self.secret, algorithm="HS256"), expires_at


# A revocation refuses tokens issued up to the end of its second (iat has whole
# seconds); a session begun in that same second (a sign-in right after an admin ended
# every session, or lifted a ban) dates its tokens from the next second, or they would
# be refused for their whole life.
_CREATE_SESSION = """
INSERT INTO auth_sessions (user_id, method, not_after) VALUES ($1, $2, now() + $3::interval)
RETURNING id, method, extract(epoch FROM created_at)::bigint AS authenticated_at,
          (SELECT floor(extract(epoch FROM revoked_at))::bigint + 1 FROM token_revocations
            WHERE user_id = $1) AS tokens_valid_from
"""
_CREATE_TOKEN = """
INSERT INTO auth_refresh_tokens (token_hash, session_id, parent_id) VALUES ($1, $2, $3)
"""


@dataclass(frozen=True, slots=True)
class IssuedSession:
    session_id: uuid.UUID
    method: str
    authenticated_at: int
    refresh_token: str
    # Tokens must say they were issued at this Unix second or later (a revocation's).
    tokens_valid_from: int | None = None


async def create_session(
    conn: asyncpg.Connection, user_id: uuid.UUID, method: Method, lifetime: timedelta
) -> IssuedSession:
    """A new session and its first refresh token (run inside a transaction)."""
    row = await conn.fetchrow(_CREATE_SESSION, user_id, method, lifetime)
    refresh_token = new_secret()
    await conn.execute(_CREATE_TOKEN, token_hash(refresh_token), row["id"], None)
    return IssuedSession(row["id"], row["method"], row["authenticated_at"], refresh_token,
                         row["tokens_valid_from"])  # fmt: skip


_FIND_TOKEN = """
SELECT t.id, t.session_id, t.rotated_at IS NOT NULL AS rotated, s.user_id, s.method,
       extract(epoch FROM s.created_at)::bigint AS authenticated_at,
       s.revoked_at IS NOT NULL AS revoked, s.not_after <= now() AS expired
FROM auth_refresh_tokens t JOIN auth_sessions s ON s.id = t.session_id
WHERE t.token_hash = $1
FOR UPDATE OF t, s
"""


@dataclass(frozen=True, slots=True)
class Rotation:
    """The outcome of presenting a refresh token: a successor, or the reason there is none."""

    issued: IssuedSession | None
    user_id: uuid.UUID | None = None
    error: AuthError | None = None


async def rotate(conn: asyncpg.Connection, refresh_token: str) -> Rotation:
    """Exchange a refresh token for its successor, in the caller's transaction.

    A reuse revokes the session and is reported rather than raised, so the caller
    commits the revocation before answering with the error.
    """
    row = await conn.fetchrow(_FIND_TOKEN, token_hash(refresh_token))
    if row is None or row["revoked"]:
        return Rotation(None, error=RefreshTokenNotFound())
    if row["rotated"]:
        await revoke_sessions(conn, [row["session_id"]], "refresh_token_reuse")
        return Rotation(None, row["user_id"], error=RefreshTokenAlreadyUsed())
    if row["expired"]:
        return Rotation(None, row["user_id"], error=SessionExpired())
    successor = new_secret()
    await conn.execute("UPDATE auth_refresh_tokens SET rotated_at = now() WHERE id = $1", row["id"])
    await conn.execute(_CREATE_TOKEN, token_hash(successor), row["session_id"], row["id"])
    await conn.execute(
        "UPDATE auth_sessions SET refreshed_at = now() WHERE id = $1", row["session_id"]
    )
    issued = IssuedSession(row["session_id"], row["method"], row["authenticated_at"], successor)
    return Rotation(issued, row["user_id"])


async def revoke_sessions(
    conn: Executor, session_ids: list[uuid.UUID], reason: RevokeReason
) -> int:
    result: str = await conn.execute(
        """UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2
           WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL""",
        session_ids,
        reason,
    )
    return int(result.split()[-1])


async def revoke_user_sessions(
    conn: Executor, user_id: uuid.UUID, reason: RevokeReason, *, keep: uuid.UUID | None = None
) -> int:
    """Revoke every live session of the user, except ``keep``."""
    result: str = await conn.execute(
        """UPDATE auth_sessions SET revoked_at = now(), revoked_reason = $2
           WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $3""",
        user_id,
        reason,
        keep,
    )
    return int(result.split()[-1])


async def session_is_live(conn: Executor, session_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    live: bool | None = await conn.fetchval(
        """SELECT revoked_at IS NULL AND not_after > now() FROM auth_sessions
           WHERE id = $1 AND user_id = $2""",
        session_id,
        user_id,
    )
    return bool(live)


# clock_timestamp(), not now(): the time of this statement, not of the transaction's
# start, so no token issued while the transaction ran is left out.
_REVOKE_TOKENS = """
INSERT INTO token_revocations (user_id, revoked_at) VALUES ($1, clock_timestamp())
ON CONFLICT (user_id) DO UPDATE
    SET revoked_at = greatest(token_revocations.revoked_at, EXCLUDED.revoked_at)
"""


async def revoke_all_tokens(conn: Executor, user_id: uuid.UUID) -> None:
    """Every token the user holds stops working, access tokens included: they are JWTs
    verified without a session lookup, so every worker refuses those issued before
    now (domain.identity.roles, told by a notification from token_revocations). Also for
    users of Supabase Auth, whose sessions Skybound cannot end."""
    await conn.execute(_REVOKE_TOKENS, user_id)
