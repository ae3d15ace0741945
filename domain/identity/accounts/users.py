"""Auth users (the auth_users table) and GoTrue's JSON shape of a user."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, ConfigDict

from domain.identity.accounts import Executor, examples
from domain.identity.accounts.errors import EmailAddressInvalid

# Deliberately loose (one @, a dot in the domain, no spaces): the real test of an
# address is whether mail arrives.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL_LENGTH = 254


def normalize_email(email: str) -> str:
    """The address as stored (lower case, trimmed), or GoTrue's email_address_invalid."""
    email = email.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise EmailAddressInvalid()
    return email


class Identity(BaseModel):
    identity_id: uuid.UUID
    id: str
    user_id: uuid.UUID
    identity_data: dict[str, Any]
    provider: str = "email"
    email: str | None
    last_sign_in_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AuthUser(BaseModel):
    """A user as GoTrue answers it (GET /user, and inside every session)."""

    model_config = ConfigDict(json_schema_extra={"examples": [examples.AUTH_USER]})

    id: uuid.UUID
    aud: str
    role: str = "authenticated"
    email: str
    email_confirmed_at: datetime | None
    phone: str = ""
    confirmed_at: datetime | None
    recovery_sent_at: datetime | None = None
    last_sign_in_at: datetime | None
    app_metadata: dict[str, Any]
    user_metadata: dict[str, Any]
    identities: list[Identity]
    created_at: datetime
    updated_at: datetime
    is_anonymous: bool = False


def app_metadata(stored: dict[str, Any], providers: list[str]) -> dict[str, Any]:
    """What GoTrue reports as app_metadata: the first provider and all of them, plus
    anything operators set."""
    return {**stored, "provider": providers[0], "providers": sorted(set(providers))}


def _identities(row: asyncpg.Record) -> list[Identity]:
    """The email identity of an account with a password, then those of providers."""
    found = []
    if row["encrypted_password"] is not None:
        found.append(Identity(
            # One email identity per user, so the user's id serves as the identity's too.
            identity_id=row["id"],
            id=str(row["id"]),
            user_id=row["id"],
            identity_data={"sub": str(row["id"]), "email": row["email"],
                           "email_verified": row["email_confirmed_at"] is not None,
                           "phone_verified": False},
            email=row["email"],
            last_sign_in_at=row["last_sign_in_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        ))  # fmt: skip
    found += [Identity.model_validate(linked) for linked in row["linked_identities"]]
    return found


def as_auth_user(row: asyncpg.Record, audience: str) -> AuthUser:
    identities = _identities(row)
    providers = [identity.provider for identity in identities] or ["email"]
    return AuthUser(
        id=row["id"],
        aud=audience,
        email=row["email"],
        email_confirmed_at=row["email_confirmed_at"],
        confirmed_at=row["email_confirmed_at"],
        recovery_sent_at=row["recovery_sent_at"],
        last_sign_in_at=row["last_sign_in_at"],
        app_metadata=app_metadata(row["app_metadata"], providers),
        user_metadata=row["user_metadata"],
        identities=identities,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# The user's provider identities travel with every read of the user, in GoTrue's shape.
_COLUMNS = """id, email, encrypted_password, email_confirmed_at, user_metadata, app_metadata,
    banned_until, banned_until > now() AS banned, recovery_sent_at, last_sign_in_at,
    created_at, updated_at,
    (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'identity_id', i.id, 'id', i.provider_id, 'user_id', i.user_id,
                'identity_data', i.identity_data, 'provider', i.provider, 'email', i.email,
                'last_sign_in_at', i.last_sign_in_at, 'created_at', i.created_at,
                'updated_at', i.updated_at) ORDER BY i.created_at, i.id), '[]'::jsonb)
     FROM auth_identities i WHERE i.user_id = auth_users.id) AS linked_identities"""

# Sign-up confirms the address at once: there is no confirmation email (yet).
_INSERT = f"""
INSERT INTO auth_users (email, encrypted_password, email_confirmed_at, user_metadata,
                        last_sign_in_at)
VALUES ($1, $2, now(), $3, now())
ON CONFLICT ((lower(email))) DO NOTHING
RETURNING {_COLUMNS}
"""


_INSERT_EXTERNAL = f"""
INSERT INTO auth_users (email, encrypted_password, email_confirmed_at, user_metadata,
                        last_sign_in_at)
VALUES ($1, NULL, now(), $2, now())
ON CONFLICT ((lower(email))) DO NOTHING
RETURNING {_COLUMNS}
"""


async def insert_external_user(
    conn: Executor, email: str, user_metadata: dict[str, Any]
) -> asyncpg.Record | None:
    """A user made by a provider that vouched for the address: confirmed, no password.
    None when the email is taken."""
    row: asyncpg.Record | None = await conn.fetchrow(_INSERT_EXTERNAL, email, user_metadata)
    return row


async def insert_user(
    conn: Executor, email: str, password_hash: str, user_metadata: dict[str, Any]
) -> asyncpg.Record | None:
    """The new user, or None when the email is taken."""
    row: asyncpg.Record | None = await conn.fetchrow(_INSERT, email, password_hash, user_metadata)
    return row


async def user_by_email(conn: Executor, email: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM auth_users WHERE lower(email) = lower($1)", email
    )
    return row


async def user_by_id(
    conn: Executor, user_id: uuid.UUID, *, lock: bool = False
) -> asyncpg.Record | None:
    sql = f"SELECT {_COLUMNS} FROM auth_users WHERE id = $1"
    row: asyncpg.Record | None = await conn.fetchrow(sql + (" FOR UPDATE" if lock else ""), user_id)
    return row


async def record_sign_in(conn: Executor, user_id: uuid.UUID) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        f"UPDATE auth_users SET last_sign_in_at = now() WHERE id = $1 RETURNING {_COLUMNS}",
        user_id,
    )
    return row


async def set_user_metadata(
    conn: Executor, user_id: uuid.UUID, user_metadata: dict[str, Any]
) -> None:
    await conn.execute(
        "UPDATE auth_users SET user_metadata = $2, updated_at = now() WHERE id = $1",
        user_id,
        user_metadata,
    )


async def set_password_hash(conn: Executor, user_id: uuid.UUID, password_hash: str) -> None:
    await conn.execute(
        "UPDATE auth_users SET encrypted_password = $2, updated_at = now() WHERE id = $1",
        user_id,
        password_hash,
    )


_UPDATE = f"""
UPDATE auth_users
SET email = coalesce($2, email),
    encrypted_password = coalesce($3, encrypted_password),
    user_metadata = coalesce($4, user_metadata),
    updated_at = now()
WHERE id = $1
RETURNING {_COLUMNS}
"""


async def update_user(
    conn: Executor, user_id: uuid.UUID, *, email: str | None, password_hash: str | None,
    user_metadata: dict[str, Any] | None,
) -> asyncpg.Record:  # fmt: skip
    """Apply the given changes (None leaves a field as it is); raises
    asyncpg.UniqueViolationError when the new email is taken."""
    row: asyncpg.Record = await conn.fetchrow(_UPDATE, user_id, email, password_hash, user_metadata)
    return row


async def delete_user(conn: Executor, user_id: uuid.UUID) -> str | None:
    """Remove the account: its sessions, their refresh tokens and its recovery codes go
    with it (ON DELETE CASCADE). Its email, or None when there was no account (a user
    of Supabase Auth, or one already deleted)."""
    email: str | None = await conn.fetchval(
        "DELETE FROM auth_users WHERE id = $1 RETURNING email", user_id
    )
    return email


def merge_metadata(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """GoTrue's rule for `data`: top-level keys are set, and a null value removes its key."""
    merged = {**current, **changes}
    return {key: value for key, value in merged.items() if value is not None}
