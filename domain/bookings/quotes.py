"""Quotes: a priced proposal to change or cancel a booking, confirmed at most once.

A quote records the booking version it was priced against. Confirming locks the
quote row, then the booking row: a quote already confirmed answers with its stored
result (so a retried confirmation is harmless), an expired one is refused, and one
priced against an older version of the booking is stale.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg
from pydantic import BaseModel, ConfigDict, Field

from domain.bookings import examples
from domain.bookings.errors import QuoteExpired, QuoteNotFound, QuoteStale
from domain.notifications.enqueue import TripMail
from domain.search.models import Money

QUOTE_TTL = timedelta(minutes=15)

QuoteKind = Literal["change", "cancellation"]


class Quote(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.QUOTE]})

    id: uuid.UUID
    booking_id: uuid.UUID
    kind: QuoteKind
    amount: Money = Field(
        description="What confirming costs the traveller: positive is charged to the card "
        "the booking was paid with, negative is refunded to it."
    )
    charge: Money
    refund: Money
    fee: Money
    details: dict[str, Any]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LockedQuote:
    id: uuid.UUID
    booking_id: uuid.UUID
    kind: str
    details: dict[str, Any]
    amount_minor: int
    currency: str


def quote_model(row: asyncpg.Record) -> Quote:
    details: dict[str, Any] = row["details"]
    currency = row["currency"]

    def money(amount: int) -> Money:
        return Money(amount_minor=amount, currency=currency)

    return Quote(
        id=row["id"],
        booking_id=row["booking_id"],
        kind=row["kind"],
        amount=money(row["amount_minor"]),
        charge=money(details.get("charge_minor", 0)),
        refund=money(details.get("refund_minor", 0)),
        fee=money(details.get("fee_minor", 0)),
        details=details,
        expires_at=row["expires_at"],
    )


async def create_quote(
    conn: asyncpg.Connection | asyncpg.Pool,
    booking_id: uuid.UUID,
    booking_version: int,
    kind: QuoteKind,
    details: dict[str, Any],
    currency: str,
    now: datetime,
) -> Quote:
    """``details`` carries ``charge_minor``, ``refund_minor`` and ``fee_minor``."""
    amount = details.get("charge_minor", 0) - details.get("refund_minor", 0)
    row = await conn.fetchrow(
        """INSERT INTO booking_quotes (booking_id, kind, booking_version, details, amount_minor,
                                       currency, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *""",
        booking_id, kind, booking_version, details, amount, currency, now + QUOTE_TTL,
    )  # fmt: skip
    return quote_model(row)


Apply = Callable[[asyncpg.Connection, LockedQuote], Awaitable[dict[str, Any]]]
# Told of a confirmation inside its transaction (an agent's audit entry), never of a replay.
Witness = Callable[[asyncpg.Connection, LockedQuote], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Confirmer:
    """Who confirms a quote: the owner, or staff acting for them with a reason and a
    witness that records the action where staff actions are recorded."""

    user_id: uuid.UUID
    reason: str | None = None
    witness: Witness | None = None


_HISTORY = """
INSERT INTO booking_history (booking_id, at, kind, quote_id, actor, on_behalf, reason)
SELECT id, $2, $3, $4, $5, user_id IS DISTINCT FROM $5, $6 FROM bookings WHERE id = $1
"""


async def confirm_quote(
    pool: asyncpg.Pool,
    booking_id: uuid.UUID,
    quote_id: uuid.UUID,
    kind: QuoteKind,
    apply: Apply,
    *,
    now: datetime | None = None,
    mail: TripMail | None = None,
    by: Confirmer | None = None,
) -> tuple[dict[str, Any], bool]:
    """Run ``apply`` once for the quote; (its result, whether this was a replay).

    ``apply`` runs in the confirming transaction with the quote and booking rows
    locked; its result (the booking as JSON) is stored on the quote and returned to
    every later confirmation. The booking's history records who confirmed it (``by``).
    """
    now = now or datetime.now(UTC)
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            """SELECT q.*, b.version AS current_version
               FROM booking_quotes q JOIN bookings b ON b.id = q.booking_id
               WHERE q.id = $1 AND q.booking_id = $2 AND q.kind = $3
               FOR UPDATE OF q, b""",
            quote_id, booking_id, kind,
        )  # fmt: skip
        if row is None:
            raise QuoteNotFound("No such quote for this booking.")
        if row["confirmed_at"] is not None:
            return row["result"], True
        if row["expires_at"] <= now:
            raise QuoteExpired("Ask for a new quote.", expired_at=row["expires_at"])
        if row["current_version"] != row["booking_version"]:
            raise QuoteStale("The booking changed after this quote; ask for a new one.")
        quote = LockedQuote(row["id"], row["booking_id"], row["kind"], row["details"],
                            row["amount_minor"], row["currency"])  # fmt: skip
        result = await apply(conn, quote)
        if by is not None:
            await conn.execute(_HISTORY, booking_id, now, kind, quote_id, by.user_id, by.reason)
            if by.witness is not None:
                await by.witness(conn, quote)
        await conn.execute(
            "UPDATE booking_quotes SET confirmed_at = $2, result = $3 WHERE id = $1",
            quote_id, now, result,
        )  # fmt: skip
        if mail is not None:
            await mail.booking_updated(conn, booking_id, quote_id, kind)
    if mail is not None:
        mail.wake()
    return result, False
