"""Single-use stream tickets: a header-less client's way to prove who it is."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from domain.identity.tokens import Claims, Unauthorized

TICKET_TTL = timedelta(seconds=60)

_ISSUE = """
INSERT INTO stream_tickets (ticket_hash, user_id, roles, expires_at, session_expires_at,
                            token_issued_at)
VALUES ($1, $2, $3, $4, $5, $6)
"""

# Redeeming and marking used is one statement: two redeemers cannot both win.
_REDEEM = """
UPDATE stream_tickets SET used_at = now()
WHERE ticket_hash = $1 AND used_at IS NULL AND expires_at > now()
RETURNING user_id, roles, session_expires_at, token_issued_at
"""

_PURGE = "DELETE FROM stream_tickets WHERE expires_at < now() - interval '1 hour'"


@dataclass(frozen=True, slots=True)
class Ticket:
    ticket: str
    expires_at: datetime


def _hash(ticket: str) -> bytes:
    return hashlib.sha256(ticket.encode()).digest()


async def issue_ticket(pool: asyncpg.Pool, claims: Claims) -> Ticket:
    ticket = "st_" + secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires = now + TICKET_TTL
    session_end = datetime.fromtimestamp(claims.expires_at, UTC)
    issued = None if claims.issued_at is None else datetime.fromtimestamp(claims.issued_at, UTC)
    await pool.execute(
        _ISSUE, _hash(ticket), claims.user_id, sorted(claims.app_roles),
        min(expires, session_end), session_end, issued,
    )  # fmt: skip
    return Ticket(ticket, min(expires, session_end))


async def redeem_ticket(pool: asyncpg.Pool, ticket: str) -> Claims:
    """The claims a ticket stands for; 401 when unknown, expired or already used.
    The caller still admits them (domain.identity.roles.admit): the token behind the ticket
    may have been revoked since."""
    if not ticket.startswith("st_") or len(ticket) > 100:
        raise Unauthorized("Not a stream ticket.")
    row = await pool.fetchrow(_REDEEM, _hash(ticket))
    if row is None:
        raise Unauthorized("Stream ticket is unknown, expired or already used.")
    user_id: uuid.UUID = row["user_id"]
    issued = row["token_issued_at"]
    return Claims(
        user_id=user_id,
        role="authenticated",
        expires_at=int(row["session_expires_at"].timestamp()),
        issued_at=None if issued is None else int(issued.timestamp()),
        app_roles=frozenset(row["roles"]),
    )


async def purge_tickets(pool: asyncpg.Pool) -> None:
    await pool.execute(_PURGE)
