"""Users for admins: find them, see their roles, sessions and bookings, ban, unban,
end their sessions, erase them.

A user is whoever Skybound knows by id: a profile (made on first use of the API), an
account of the built-in auth, or both. Bans and revocations work through the user's
standing (domain.identity.roles): the database announces the change, every worker
forgets the user, and their next request, and every stream they hold, ends.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import asyncpg
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from adapters.storage import Storage
from domain.admin import audit, examples
from domain.admin.audit import Actor
from domain.admin.bookings import find_bookings
from domain.admin.patterns import like_prefix
from domain.bookings.models import BookingSummary
from domain.identity.accounts.sessions import revoke_all_tokens, revoke_user_sessions
from domain.identity.roles import RoleDirectory
from domain.profiles import erase_user
from foundation.errors import Conflict, FieldError, NotFound, ValidationFailed
from foundation.models import StrictModel

# Bans longer than this are an erasure's job, or a typo.
MAX_BAN = timedelta(days=3650)
DETAIL_BOOKINGS = 20

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class UserNotFound(NotFound):
    slug = "user-not-found"
    title = "User not found"

    def __init__(self, user_id: uuid.UUID) -> None:
        super().__init__(f"No user with id {user_id}.", user_id=str(user_id))


class NotOnYourself(Conflict):
    slug = "not-on-yourself"
    title = "Staff cannot do this to their own account"


class UserSummary(BaseModel):
    id: uuid.UUID
    email: str | None
    given_name: str | None
    family_name: str | None
    created_at: datetime
    last_sign_in_at: datetime | None = Field(description="Built-in auth only.")
    banned_until: datetime | None = Field(description="Set while a ban lasts.")


class UserPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.USER_PAGE]})

    users: list[UserSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class Ban(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.BAN]})

    until: datetime
    reason: str
    banned_by: uuid.UUID
    banned_at: datetime


class Session(BaseModel):
    """A sign-in to the built-in auth: its refresh tokens live and die together."""

    id: uuid.UUID
    method: str
    created_at: datetime
    refreshed_at: datetime | None
    not_after: datetime
    revoked_at: datetime | None
    revoked_reason: str | None


class UserDetail(UserSummary):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.USER_DETAIL]})

    roles: list[str] = Field(description="Granted by admins; `passenger` is implicit.")
    ban: Ban | None
    tokens_revoked_at: datetime | None = Field(
        description="Tokens issued before this instant are refused."
    )
    sessions: list[Session]
    bookings: list[BookingSummary] = Field(description="The most recent, newest first.")


class BanRequest(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.BAN_REQUEST]})

    until: AwareDatetime
    reason: Reason


class Unban(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.UNBAN]})

    reason: Reason


class SessionsRevoked(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SESSIONS_REVOKED]})

    sessions_revoked: int = Field(description="Built-in auth sessions ended.")
    tokens_revoked_at: datetime


# Finding users ------------------------------------------------------------------------

# Everyone known by id: profiles and built-in accounts, joined where both exist.
_USERS = """
SELECT coalesce(p.user_id, a.id) AS id, coalesce(a.email, p.email) AS email,
       p.given_name, p.family_name,
       coalesce(least(p.created_at, a.created_at), p.created_at, a.created_at) AS created_at,
       a.last_sign_in_at, ban.until AS banned_until
  FROM profiles p
  FULL JOIN auth_users a ON a.id = p.user_id
  LEFT JOIN user_bans ban ON ban.user_id = coalesce(p.user_id, a.id) AND ban.until > now()
"""
# Fixed fragments, chosen by which filters are given; values are always parameters.
_BY_ID = "coalesce(p.user_id, a.id) = $1"
_BY_PREFIX = """(lower(a.email) LIKE $1 OR lower(p.email) LIKE $1
                 OR lower(p.given_name) LIKE $1 OR lower(p.family_name) LIKE $1)"""
_AFTER = "coalesce(p.user_id, a.id) > ${n}"


def _cursor(cursor: str | None) -> uuid.UUID | None:
    if cursor is None:
        return None
    try:
        return uuid.UUID(cursor)
    except ValueError:
        raise ValidationFailed(
            [FieldError("cursor", "Not a cursor this API gave out.", "cursor")]
        ) from None


async def search_users(
    pool: asyncpg.Pool, q: str | None, cursor: str | None, limit: int
) -> UserPage:
    """Users whose id is ``q``, or whose email or name starts with it (any case), in id
    order, ``limit`` at a time."""
    conditions: list[str] = []
    params: list[Any] = []
    if q:
        try:
            params.append(uuid.UUID(q))
            conditions.append(_BY_ID)
        except ValueError:
            params.append(like_prefix(q))
            conditions.append(_BY_PREFIX)
    after = _cursor(cursor)
    if after is not None:
        params.append(after)
        conditions.append(_AFTER.format(n=len(params)))
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    params.append(limit + 1)
    rows = await pool.fetch(f"{_USERS} {where} ORDER BY 1 LIMIT ${len(params)}", *params)
    users = [UserSummary.model_validate(dict(row)) for row in rows[:limit]]
    more = len(rows) > limit
    return UserPage(users=users, next_cursor=str(users[-1].id) if more else None)


_DETAIL = (
    _USERS
    + """
 WHERE coalesce(p.user_id, a.id) = $1
"""
)
_EXTRAS = """
SELECT ARRAY(SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role) AS roles,
       (SELECT revoked_at FROM token_revocations WHERE user_id = $1) AS tokens_revoked_at,
       (SELECT to_jsonb(b) FROM user_bans b WHERE user_id = $1 AND until > now()) AS ban
"""
_SESSIONS = """
SELECT id, method, created_at, refreshed_at, not_after, revoked_at, revoked_reason
  FROM auth_sessions WHERE user_id = $1 ORDER BY created_at DESC LIMIT 50
"""


async def _known(conn: asyncpg.Connection | asyncpg.Pool, user_id: uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow(_DETAIL, user_id)
    if row is None:
        raise UserNotFound(user_id)
    return row


async def user_detail(pool: asyncpg.Pool, user_id: uuid.UUID) -> UserDetail:
    row = await _known(pool, user_id)
    extras = await pool.fetchrow(_EXTRAS, user_id)
    sessions = await pool.fetch(_SESSIONS, user_id)
    bookings = await find_bookings(pool, user_id=user_id, limit=DETAIL_BOOKINGS)
    return UserDetail(
        **dict(row),
        roles=list(extras["roles"]),
        ban=Ban.model_validate(extras["ban"]) if extras["ban"] else None,
        tokens_revoked_at=extras["tokens_revoked_at"],
        sessions=[Session.model_validate(dict(s)) for s in sessions],
        bookings=bookings.bookings,
    )


# Acting on users -----------------------------------------------------------------------


def _not_yourself(actor: Actor, user_id: uuid.UUID, doing: str) -> None:
    if actor.user_id == user_id:
        raise NotOnYourself(f"You cannot {doing} your own account.")


_BAN = """
INSERT INTO user_bans (user_id, until, reason, banned_by) VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id) DO UPDATE
    SET until = EXCLUDED.until, reason = EXCLUDED.reason, banned_by = EXCLUDED.banned_by,
        banned_at = now()
RETURNING until, reason, banned_by, banned_at
"""


async def ban_user(
    pool: asyncpg.Pool, directory: RoleDirectory, actor: Actor, user_id: uuid.UUID,
    request: BanRequest,
) -> Ban:  # fmt: skip
    """Refuse every token of the user until ``until`` (whoever issued it), end their
    built-in sessions and every token issued so far, so that even after the ban they
    must sign in again. Banning again replaces the ban."""
    _not_yourself(actor, user_id, "ban")
    now = datetime.now(UTC)
    if not now < request.until <= now + MAX_BAN:
        raise ValidationFailed([FieldError("until", "Must be in the future, within ten years.")])
    async with pool.acquire() as conn, conn.transaction():
        await _known(conn, user_id)
        previous = await conn.fetchval("SELECT until FROM user_bans WHERE user_id = $1", user_id)
        ban = await conn.fetchrow(_BAN, user_id, request.until, request.reason, actor.user_id)
        await conn.execute("UPDATE auth_users SET banned_until = $2 WHERE id = $1", user_id,
                           request.until)  # fmt: skip
        ended = await revoke_user_sessions(conn, user_id, "banned")
        await revoke_all_tokens(conn, user_id)
        await audit.record(conn, actor, "user.ban", "user", user_id,
                           {"banned_until": [_iso(previous), _iso(ban["until"])],
                            "sessions_revoked": ended}, request.reason)  # fmt: skip
    directory.forget(user_id)
    return Ban.model_validate(dict(ban))


async def unban_user(
    pool: asyncpg.Pool, directory: RoleDirectory, actor: Actor, user_id: uuid.UUID,
    request: Unban,
) -> None:  # fmt: skip
    """The user may sign in again (tokens from before the ban stay revoked)."""
    async with pool.acquire() as conn, conn.transaction():
        await _known(conn, user_id)
        previous = await conn.fetchval(
            "DELETE FROM user_bans WHERE user_id = $1 RETURNING until", user_id
        )
        await conn.execute("UPDATE auth_users SET banned_until = NULL WHERE id = $1", user_id)
        await audit.record(conn, actor, "user.unban", "user", user_id,
                           {"banned_until": [_iso(previous), None]}, request.reason)  # fmt: skip
    directory.forget(user_id)


async def revoke_sessions(
    pool: asyncpg.Pool, directory: RoleDirectory, actor: Actor, user_id: uuid.UUID,
    reason: str | None,
) -> SessionsRevoked:  # fmt: skip
    """End every built-in session (its refresh tokens) and every token issued until
    now, on every worker, streams included; the user may sign in again."""
    async with pool.acquire() as conn, conn.transaction():
        await _known(conn, user_id)
        ended = await revoke_user_sessions(conn, user_id, "revoked_by_admin")
        await revoke_all_tokens(conn, user_id)
        revoked_at = await conn.fetchval(
            "SELECT revoked_at FROM token_revocations WHERE user_id = $1", user_id
        )
        await audit.record(conn, actor, "user.revoke_sessions", "user", user_id,
                           {"sessions_revoked": ended}, reason)  # fmt: skip
    directory.forget(user_id)
    return SessionsRevoked(sessions_revoked=ended, tokens_revoked_at=revoked_at)


async def erase(
    pool: asyncpg.Pool, storage: Storage, directory: RoleDirectory, actor: Actor,
    user_id: uuid.UUID, reason: str | None,
) -> None:  # fmt: skip
    """The erasure of ``DELETE /v1/me``, on an admin's word. The audit entry is written
    once the erasure has committed (it runs in a transaction of its own) and holds no
    personal data, only the id."""
    _not_yourself(actor, user_id, "erase (use DELETE /v1/me)")
    await _known(pool, user_id)
    await erase_user(pool, storage, directory, user_id)
    async with pool.acquire() as conn:
        await audit.record(conn, actor, "user.erase", "user", user_id, {}, reason)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()
