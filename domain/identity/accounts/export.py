"""The built-in account in a GDPR export: the sign-up, its sign-ins (each one a
session), and the providers' identities linked to it. No secrets: no password hash,
no token or code, not even hashed."""

from __future__ import annotations

import uuid
from typing import Any

from domain.identity.accounts import Executor

_ACCOUNT = """
SELECT email, email_confirmed_at, created_at AS signed_up_at, last_sign_in_at, updated_at,
       encrypted_password IS NOT NULL AS has_password, user_metadata, app_metadata,
       banned_until
FROM auth_users WHERE id = $1
"""
_SESSIONS = """
SELECT id, method, created_at AS signed_in_at, refreshed_at, not_after, revoked_at,
       revoked_reason
FROM auth_sessions WHERE user_id = $1 ORDER BY created_at, id
"""
_IDENTITIES = """
SELECT provider, provider_id, email, identity_data, created_at AS linked_at, last_sign_in_at
FROM auth_identities WHERE user_id = $1 ORDER BY created_at, id
"""


async def export_account(conn: Executor, user_id: uuid.UUID) -> dict[str, Any] | None:
    """The account, or None when the user has none here (Supabase Auth's users)."""
    account = await conn.fetchrow(_ACCOUNT, user_id)
    if account is None:
        return None
    return {
        **dict(account),
        "sessions": [dict(row) for row in await conn.fetch(_SESSIONS, user_id)],
        "identities": [dict(row) for row in await conn.fetch(_IDENTITIES, user_id)],
    }
