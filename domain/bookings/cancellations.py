"""Cancelling a booking: the refund policy, quotes, and the cancellation itself.

Policy, first rule that applies:

1. A flight of the booking was cancelled by the airline: everything paid is refunded.
2. Within 24 hours of purchase, for a booking made at least 7 days before its first
   departure: everything paid is refunded (the US DOT's 24-hour rule, 14 CFR 259.5,
   which does not cover last-minute bookings).
3. A non-refundable fare: only the government taxes and airport charges are refunded
   (they pay for a departure that will not happen); the base fare, carrier surcharges
   and seats are not.
4. A refundable fare: the fare paid less the brand's cancellation fee per seated
   passenger (lap infants pay none), doubled within 72 hours of departure, never more
   than the fare; paid seats are not refunded.

A booking whose first flight has left cannot be cancelled, nor can a cancelled one.
Its tickets are voided when refunded in full on their day of issue, refunded otherwise.
Paid seats are sold on EMDs with their own rule (``emds.py``): refunded only with a full
refund, so a refundable fare gives back the fare, not the seats.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from domain.bookings.emds import settle_emds_on_cancellation
from domain.bookings.errors import AlreadyCancelled, AlreadyFlown, BookingNotFound
from domain.bookings.fares import REFUNDABLE_TAX_KINDS, taxes_by_code
from domain.bookings.money import refund
from domain.bookings.payments import PaymentProvider
from domain.bookings.queries import BOOKING_STATE, check_visible, load_booking, may_read
from domain.bookings.quotes import Confirmer, LockedQuote, Quote, confirm_quote, create_quote
from domain.notifications.enqueue import TripMail

FREE_CANCELLATION = timedelta(hours=24)
# The free day covers only bookings made this long before the first departure.
FREE_CANCELLATION_LEAD = timedelta(days=7)
LATE_CANCELLATION = timedelta(hours=72)
# The rules that give back everything paid, seats included.
FULL_REFUND_RULES = frozenset({"airline_cancelled", "within_24_hours"})


@dataclass(frozen=True, slots=True)
class CancellationTerms:
    refund_minor: int
    fee_minor: int
    rule: str


def cancellation_terms(
    fare: dict[str, Any],
    paid_minor: int,
    seated_passengers: int,
    purchased_at: datetime,
    first_departure: datetime,
    airline_cancelled: bool,
    now: datetime,
) -> CancellationTerms:
    if airline_cancelled:
        return CancellationTerms(paid_minor, 0, "airline_cancelled")
    if (
        now - purchased_at < FREE_CANCELLATION
        and first_departure - purchased_at >= FREE_CANCELLATION_LEAD
    ):
        return CancellationTerms(paid_minor, 0, "within_24_hours")
    if not fare.get("refundable", False):
        taxes = min(fare.get("refundable_taxes_minor", 0), paid_minor)
        return CancellationTerms(taxes, paid_minor - taxes, "non_refundable")
    fee = fare.get("cancellation_fee_minor", 0) * seated_passengers
    if first_departure - now < LATE_CANCELLATION:
        fee *= 2
    fare_paid = max(paid_minor - fare.get("seats_minor", 0), 0)  # seats are not refundable
    fee = min(fee, fare_paid)
    return CancellationTerms(fare_paid - fee, paid_minor - fare_paid + fee, "refundable")


def refund_breakdown(fare: dict[str, Any], terms: CancellationTerms) -> dict[str, Any]:
    """What the refund is made of: taxes by code, then seats, then the fare itself.

    A full refund returns everything; a non-refundable fare only its government taxes and
    airport charges; a refundable one its taxes and the fare less the fee, not the seats.
    """
    if terms.rule == "non_refundable":
        taxes = taxes_by_code(fare, REFUNDABLE_TAX_KINDS)
    else:
        taxes = taxes_by_code(fare)
    seats = fare.get("seats_minor", 0) if terms.rule in FULL_REFUND_RULES else 0
    remaining = terms.refund_minor - seats
    kept_taxes = []
    for tax in taxes:  # never more back than the refund: taxes first, as airlines do
        amount = min(tax["amount_minor"], max(remaining, 0))
        remaining -= amount
        if amount:
            kept_taxes.append({**tax, "amount_minor": amount})
    return {"taxes": kept_taxes, "seats_minor": seats, "fare_minor": max(remaining, 0),
            "fee_minor": terms.fee_minor}  # fmt: skip


def _terms_for(state: asyncpg.Record, now: datetime) -> CancellationTerms:
    if state["status"] == "cancelled":
        raise AlreadyCancelled("Nothing left to cancel.")
    if not state["airline_cancelled"] and state["first_departure"] <= now:
        raise AlreadyFlown("A booking can be cancelled until its first flight leaves.")
    seated = sum(1 for kind in state["passenger_types"] if kind != "infant")
    return cancellation_terms(
        state["fare"], state["total_minor"], seated, state["created_at"],
        state["first_departure"], bool(state["airline_cancelled"]), now,
    )  # fmt: skip


async def quote_cancellation(
    pool: asyncpg.Pool,
    booking_id: uuid.UUID,
    viewer: uuid.UUID,
    roles: Collection[str],
    *,
    now: datetime | None = None,
) -> Quote:
    now = now or datetime.now(UTC)
    state = await pool.fetchrow(BOOKING_STATE, booking_id)
    if state is None or not may_read(state["user_id"], viewer, roles):
        raise BookingNotFound()
    terms = _terms_for(state, now)
    details = {"refund_minor": terms.refund_minor, "fee_minor": terms.fee_minor,
               "rule": terms.rule,
               "breakdown": refund_breakdown(state["fare"] or {}, terms)}  # fmt: skip
    return await create_quote(
        pool, booking_id, state["version"], "cancellation", details, state["currency"], now
    )


async def release_inventory(conn: asyncpg.Connection, booking_id: uuid.UUID) -> None:
    """Give the booking's seats back: assignments deleted (seat maps hear it), and the
    cabins' sold counts lowered, locked in flight order like every other writer."""
    await conn.execute("DELETE FROM seat_assignments WHERE booking_id = $1", booking_id)
    seated = await conn.fetchval(
        """SELECT count(*) FROM passengers
           WHERE booking_id = $1 AND passenger_type <> 'infant'""",
        booking_id,
    )
    await conn.execute(
        """SELECT 1 FROM flight_cabins c
           JOIN booking_segments s ON s.flight_id = c.flight_id AND s.cabin = c.cabin
           WHERE s.booking_id = $1 ORDER BY c.flight_id FOR UPDATE OF c""",
        booking_id,
    )
    await conn.execute(
        """UPDATE flight_cabins c SET seats_sold = c.seats_sold - $2
           FROM booking_segments s
           WHERE s.booking_id = $1 AND s.flight_id = c.flight_id AND s.cabin = c.cabin""",
        booking_id, seated,
    )  # fmt: skip


async def cancel_booking(
    pool: asyncpg.Pool,
    provider: PaymentProvider,
    booking_id: uuid.UUID,
    quote_id: uuid.UUID,
    viewer: uuid.UUID,
    roles: Collection[str],
    *,
    now: datetime | None = None,
    mail: TripMail | None = None,
    by: Confirmer | None = None,
) -> tuple[dict[str, Any], bool]:
    """Confirm a cancellation quote: once, whatever the retries."""
    now = now or datetime.now(UTC)
    await check_visible(pool, booking_id, viewer, roles)

    async def apply(conn: asyncpg.Connection, quote: LockedQuote) -> dict[str, Any]:
        state = await conn.fetchrow(BOOKING_STATE, booking_id)
        terms = _terms_for(state, now)  # the booking may have flown since the quote
        refund_minor = min(quote.details["refund_minor"], terms.refund_minor)
        await release_inventory(conn, booking_id)
        # A sale undone in full on the ticket's day of issue is a void, as if it never
        # happened; any other cancellation refunds the ticket for what the fare gives back.
        in_full = quote.details["rule"] in FULL_REFUND_RULES
        await conn.execute(
            """UPDATE tickets
               SET status = CASE WHEN $3 AND (issued_at AT TIME ZONE 'UTC')::date
                                             = ($2::timestamptz AT TIME ZONE 'UTC')::date
                                 THEN 'void' ELSE 'refunded' END
               WHERE booking_id = $1 AND status = 'open'""",
            booking_id, now, in_full,
        )  # fmt: skip
        await settle_emds_on_cancellation(conn, booking_id, refunded=in_full, now=now)
        refunded = 0
        if refund_minor:
            refunded = await refund(
                conn, provider, booking_id, refund_minor, quote.currency,
                key=f"cancel:{quote.id}", reason=f"cancellation ({quote.details['rule']})",
            )  # fmt: skip
        await conn.execute(
            """UPDATE bookings SET status = 'cancelled', cancelled_at = $2,
                   cancellation_reason = $3, total_minor = total_minor - $4
               WHERE id = $1""",
            booking_id, now, quote.details["rule"], refunded,
        )  # fmt: skip
        return (await load_booking(conn, booking_id)).model_dump(mode="json")

    return await confirm_quote(pool, booking_id, quote_id, "cancellation", apply, now=now,
                               mail=mail, by=by or Confirmer(viewer))  # fmt: skip
