"""Provider identities (auth_identities): a provider's account linked to an auth user."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from domain.identity.accounts import Executor

# What GoTrue keeps of an OpenID Connect provider's claims (its identity_data).
_KEPT_CLAIMS = ("iss", "sub", "email", "email_verified", "name", "picture", "given_name",
                "family_name", "locale", "hd")  # fmt: skip


def identity_data(claims: dict[str, Any]) -> dict[str, Any]:
    data = {name: claims[name] for name in _KEPT_CLAIMS if name in claims}
    data["provider_id"] = claims["sub"]
    data["phone_verified"] = False
    if "name" in claims:
        data["full_name"] = claims["name"]
    if "picture" in claims:
        data["avatar_url"] = claims["picture"]
    return data


async def identity_by_subject(
    conn: Executor, provider: str, provider_id: str
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT id, user_id FROM auth_identities WHERE provider = $1 AND provider_id = $2",
        provider,
        provider_id,
    )
    return row


async def insert_identity(
    conn: Executor, user_id: uuid.UUID, provider: str, provider_id: str, email: str | None,
    data: dict[str, Any],
) -> None:  # fmt: skip
    await conn.execute(
        """INSERT INTO auth_identities (user_id, provider, provider_id, email, identity_data,
                                        last_sign_in_at)
           VALUES ($1, $2, $3, $4, $5, now())""",
        user_id, provider, provider_id, email, data,
    )  # fmt: skip


async def record_identity_sign_in(
    conn: Executor, identity_id: uuid.UUID, email: str | None, data: dict[str, Any]
) -> None:
    """The provider's latest word about the account, and when it was last used."""
    await conn.execute(
        """UPDATE auth_identities SET email = $2, identity_data = $3, last_sign_in_at = now(),
                                      updated_at = now()
           WHERE id = $1""",
        identity_id, email, data,
    )  # fmt: skip
