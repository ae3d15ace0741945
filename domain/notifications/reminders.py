"""The scheduler's trip reminders: "check in now" when check-in opens, and a
departure-day reminder with gate and boarding time.

A job runs in the scheduler's transaction: it queues one message per recipient of
its booking (keyed by job and address), or decides that the reminder no longer
means anything (the booking was cancelled, the flight left or was cancelled), and
the scheduler records that outcome with the job, so the job is done once.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg

from foundation.scheduler import Job

# Check-in closes about this long before departure: a "check in now" after that
# would send the traveller to a closed desk.
CHECKIN_CLOSES_BEFORE = timedelta(minutes=60)

_STATE = """
SELECT b.status AS booking_status, f.status AS flight_status,
       coalesce(f.estimated_departure, f.scheduled_departure) - now() AS until_departure
FROM bookings b
JOIN booking_segments s ON s.booking_id = b.id AND s.flight_id = $2
JOIN flights f ON f.id = s.flight_id
WHERE b.id = $1
"""
_QUEUE = """
INSERT INTO mail_outbox (idempotency_key, recipient, template, cause, language)
SELECT $3 || ':' || r.address, r.address, $4,
       jsonb_build_object('booking_id', $1::uuid, 'flight_id', $2::bigint), r.language
FROM flight_mail_recipients($2) AS r
WHERE r.booking_id = $1
ON CONFLICT (idempotency_key) DO NOTHING
"""


async def send_trip_reminder(conn: asyncpg.Connection, job: Job) -> str:
    """Queue the reminder ``job`` stands for, if it still means something; the outcome."""
    booking_id = uuid.UUID(job.payload["booking_id"])
    flight_id = int(job.payload["flight_id"])
    state = await conn.fetchrow(_STATE, booking_id, flight_id)
    if state is None:
        return "flight no longer booked"
    if state["booking_status"] != "confirmed":
        return "booking cancelled"
    if state["flight_status"] not in ("scheduled", "boarding"):
        return f"flight {state['flight_status']}"
    left: timedelta = state["until_departure"]
    too_late = CHECKIN_CLOSES_BEFORE if job.kind == "checkin_open" else timedelta(0)
    if left <= too_late:
        return "too late"
    status = await conn.execute(_QUEUE, booking_id, flight_id, job.key, job.kind)
    return f"queued {status.split()[-1]}"


REMINDER_JOBS = ("checkin_open", "departure_reminder")
