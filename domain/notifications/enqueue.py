"""Trip mail queued in the transaction that causes it: a booking made, changed or
cancelled, and the reminders scheduled for each of its flights.

A booking's email and reminders are queued by one statement, so a booking pays one short
round trip for them; rendering and sending happen later, in the outbox's sender
(``composer``). Each message's idempotency key names its cause and recipient, so a
retried or replayed request queues nothing more.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import asyncpg

# The booking's contact address, in the owner's language. Confirmations are sent
# whatever the notification channels say: they are the record of a purchase.
_BOOKING_MAIL = """
INSERT INTO mail_outbox (idempotency_key, recipient, template, cause, language)
SELECT $2 || ':' || b.id || ':' || lower(b.contact_email), lower(b.contact_email), $3,
       jsonb_build_object('booking_id', b.id) || $4::jsonb, coalesce(up.language, 'en')
FROM bookings b
LEFT JOIN user_preferences up ON up.user_id = b.user_id
WHERE b.id = $1 AND b.contact_email IS NOT NULL
ON CONFLICT (idempotency_key) DO NOTHING
"""


def _reminders(lead: str) -> str:
    """Per flight of the booking ($1), a check-in-open and a departure-day job, due before
    the (estimated) departure; a flight's later time change moves them. Check-in opens
    when the operating carrier opens it (airlines.check_in_opens_hours); the departure-day
    reminder goes out ``lead`` (a parameter) before."""
    return f"""
INSERT INTO scheduled_jobs (kind, job_key, payload, flight_id, lead, due_at)
SELECT k.kind, k.kind || ':' || s.booking_id || ':' || s.flight_id,
       jsonb_build_object('booking_id', s.booking_id, 'flight_id', s.flight_id),
       s.flight_id, k.lead, coalesce(f.estimated_departure, f.scheduled_departure) - k.lead
FROM booking_segments s
JOIN flights f ON f.id = s.flight_id
JOIN airlines a ON a.code = f.carrier
CROSS JOIN LATERAL (VALUES ('checkin_open', make_interval(hours => a.check_in_opens_hours)),
                           ('departure_reminder', {lead}::interval)) AS k(kind, lead)
WHERE s.booking_id = $1
ON CONFLICT (job_key) DO NOTHING
"""


_SCHEDULE_REMINDERS = _reminders("$2")
# The mail and the reminders of a booking made or changed in one round trip: a booking
# pays for every statement in its transaction while it holds its flights' inventory rows.
_BOOKING_MAIL_AND_REMINDERS = f"WITH mail AS ({_BOOKING_MAIL}) {_reminders('$5')}"


@dataclass(frozen=True, slots=True)
class ReminderPlan:
    """How long before departure the departure-day reminder goes out (the check-in one
    goes out when the carrier opens check-in)."""

    departure_reminder_before: timedelta = timedelta(hours=3)


def _no_wake() -> None:
    """Without a sender to wake (a test, a tool), the outbox's poll finds the mail."""


@dataclass(slots=True)
class TripMail:
    """Queues a booking's mail and reminders in the caller's transaction."""

    plan: ReminderPlan = field(default_factory=ReminderPlan)
    wake: Callable[[], None] = _no_wake
    enabled: bool = True

    async def booking_confirmed(self, conn: asyncpg.Connection, booking_id: uuid.UUID) -> None:
        if not self.enabled:
            return
        await conn.execute(_BOOKING_MAIL_AND_REMINDERS, booking_id, "booking.confirmed",
                           "booking_confirmation", {},
                           self.plan.departure_reminder_before)  # fmt: skip

    async def booking_updated(
        self, conn: asyncpg.Connection, booking_id: uuid.UUID, quote_id: uuid.UUID, kind: str
    ) -> None:
        """A confirmed change (new flights get their reminders) or cancellation, with
        the refund it made; one message per quote."""
        if not self.enabled:
            return
        template = "booking_cancelled" if kind == "cancellation" else "booking_changed"
        key, cause = f"booking.{kind}:{quote_id}", {"quote_id": str(quote_id)}
        if kind == "cancellation":
            await conn.execute(_BOOKING_MAIL, booking_id, key, template, cause)
        else:
            await conn.execute(_BOOKING_MAIL_AND_REMINDERS, booking_id, key, template, cause,
                               self.plan.departure_reminder_before)  # fmt: skip

    async def schedule_reminders(self, conn: asyncpg.Connection, booking_id: uuid.UUID) -> None:
        await conn.execute(_SCHEDULE_REMINDERS, booking_id, self.plan.departure_reminder_before)
