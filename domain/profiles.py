"""Traveller profiles, keyed by the auth user's id."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg
from pydantic import BaseModel, Field


class Profile(BaseModel):
    user_id: uuid.UUID
    email: str | None
    given_name: str | None = None
    family_name: str | None = None
    phone: str | None = None
    date_of_birth: date | None = None
    nationality: str | None = None
    loyalty_numbers: dict[str, str] = Field(default_factory=dict)
    roles: list[str] = Field(default_factory=list)
    version: int
    created_at: datetime
    updated_at: datetime


# First sight of a user creates the profile; later calls keep it, refreshing a
# changed email from the token.
_ENSURE = """
INSERT INTO profiles (user_id, email) VALUES ($1, $2)
ON CONFLICT (user_id) DO UPDATE SET email = coalesce(EXCLUDED.email, profiles.email)
    WHERE profiles.email IS DISTINCT FROM coalesce(EXCLUDED.email, profiles.email)
RETURNING *
"""
_GET = "SELECT * FROM profiles WHERE user_id = $1"


async def ensure_profile(
    conn: asyncpg.Connection | asyncpg.Pool, user_id: uuid.UUID, email: str | None,
    roles: frozenset[str],
) -> Profile:  # fmt: skip
    row = await conn.fetchrow(_ENSURE, user_id, email) or await conn.fetchrow(_GET, user_id)
    data: dict[str, Any] = dict(row)
    return Profile(**data, roles=sorted(roles))


_SET_ROLES = """
WITH gone AS (
    DELETE FROM user_roles WHERE user_id = $1 AND NOT (role = ANY($2::text[]))
)
INSERT INTO user_roles (user_id, role, granted_by)
SELECT $1, r, $3 FROM unnest($2::text[]) AS r
ON CONFLICT (user_id, role) DO NOTHING
"""


async def set_roles(
    pool: asyncpg.Pool, user_id: uuid.UUID, roles: list[str], granted_by: uuid.UUID
) -> list[str]:
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(_SET_ROLES, user_id, roles, granted_by)
        rows = await conn.fetch(
            "SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role", user_id
        )
    return [row["role"] for row in rows]


async def granted_roles(pool: asyncpg.Pool, user_id: uuid.UUID) -> list[str]:
    rows = await pool.fetch("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role", user_id)
    return [row["role"] for row in rows]
