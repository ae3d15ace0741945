"""The one owner of the ``app_secrets`` table: fleet-wide secrets made by the database
once, on first use (or by a migration), so every worker and every restart signs,
verifies and decrypts alike."""

from __future__ import annotations

from typing import Literal, TypeAlias

import asyncpg

Queryable: TypeAlias = asyncpg.Connection | asyncpg.Pool
SecretForm = Literal["hex", "key32"]

_SELECT = "SELECT secret FROM app_secrets WHERE name = $1"
_MAKE: dict[SecretForm, str] = {
    # 64 hex digits: 256 random bits from two UUIDv4s (PostgreSQL's CSPRNG).
    "hex": "replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', '')",
    # 32 bytes, base64: a key for AES-256.
    "key32": "encode(decode(md5(gen_random_uuid()::text) || md5(gen_random_uuid()::text),"
    " 'hex'), 'base64')",
}


async def app_secret(conn: Queryable, name: str, *, form: SecretForm = "hex") -> str:
    """The secret called ``name``; made now if this is its first use."""
    secret: str | None = await conn.fetchval(_SELECT, name)
    if secret is None:
        # Two workers may get here at once: the first insert wins, both read it back.
        await conn.execute(
            f"INSERT INTO app_secrets (name, secret) VALUES ($1, {_MAKE[form]})"
            " ON CONFLICT (name) DO NOTHING",
            name,
        )
        secret = await conn.fetchval(_SELECT, name)
    assert secret is not None
    return secret
