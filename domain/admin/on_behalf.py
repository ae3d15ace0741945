"""Agents acting for a passenger: the passenger's own change and cancellation rules, with
the agent named in the audit log and in the booking's history.

Nothing here prices or applies anything: quotes and confirmations are the passenger
routes' (``domain.bookings``), so an agent can do exactly what the traveller could.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.admin import examples
from domain.admin.audit import Actor, record
from domain.bookings.changes import ChangeConfirmation
from domain.bookings.errors import BookingNotFound
from domain.bookings.quotes import Confirmer, LockedQuote, QuoteKind
from foundation.models import StrictModel

Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500),
    Field(description="Why the agent acts, kept in the audit log and the booking's history."),
]  # fmt: skip


class AgentCancellation(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.AGENT_CANCELLATION]})

    quote_id: uuid.UUID
    reason: Reason


class AgentChange(ChangeConfirmation):
    # Not the passenger's example: an agent must say why.
    model_config = ConfigDict(json_schema_extra={"examples": [examples.AGENT_CHANGE]})

    reason: Reason


class HistoryEntry(BaseModel):
    at: datetime
    kind: QuoteKind
    quote_id: uuid.UUID
    actor: uuid.UUID
    on_behalf: bool = Field(description="Someone other than the booking's owner acted.")
    reason: str | None


class BookingHistory(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.BOOKING_HISTORY]})

    booking_id: uuid.UUID
    entries: list[HistoryEntry] = Field(description="Oldest first.")


def acting_for(actor: Actor, reason: str) -> Confirmer:
    """The confirmer of an agent's action: the booking's history names the agent, and the
    audit log gets its entry in the same transaction (never again on a replay)."""

    async def audit(conn: asyncpg.Connection, quote: LockedQuote) -> None:
        changes = {"quote_id": str(quote.id), "amount_minor": quote.amount_minor,
                   "currency": quote.currency,
                   "what": quote.details.get("type", quote.details.get("rule"))}  # fmt: skip
        await record(conn, actor, f"booking.{quote.kind}", "booking", quote.booking_id,
                     changes, reason)  # fmt: skip

    return Confirmer(actor.user_id, reason, audit)


async def booking_history(pool: asyncpg.Pool, booking_id: uuid.UUID) -> BookingHistory:
    rows = await pool.fetch(
        """SELECT at, kind, quote_id, actor, on_behalf, reason FROM booking_history
            WHERE booking_id = $1 ORDER BY id""",
        booking_id,
    )
    if not rows and not await pool.fetchval(
        "SELECT EXISTS (SELECT 1 FROM bookings WHERE id = $1"
        " UNION ALL SELECT 1 FROM archived_bookings WHERE id = $1)",
        booking_id,
    ):
        raise BookingNotFound()
    return BookingHistory(
        booking_id=booking_id, entries=[HistoryEntry.model_validate(dict(r)) for r in rows]
    )
