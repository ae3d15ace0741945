"""Ending an account, as part of a GDPR erasure (domain.profiles.erase_user_data)."""

from __future__ import annotations

import uuid

import asyncpg

from adapters.mail import discard_mail_to
from domain.identity.accounts.sessions import revoke_all_tokens
from domain.identity.accounts.users import delete_user


async def end_account(conn: asyncpg.Connection, user_id: uuid.UUID) -> None:
    """In the caller's transaction: delete the built-in account (and so its sessions,
    refresh tokens and recovery codes) and the mail to its address, and revoke every
    token the user holds. Running it again changes nothing more than the revocation's
    time; without a built-in account (Supabase Auth) only the revocation applies."""
    email = await delete_user(conn, user_id)
    if email is not None:
        await discard_mail_to(conn, email)
    await revoke_all_tokens(conn, user_id)
