"""The booking benchmark's SQL: which flights to book, the race's inventory, and the
invariants checked afterwards.

Every query here is the bench's own reading or setting of the data; the server's
booking path is not touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

import asyncpg

from bench.harness.usage import cpu_seconds

# Flights worth booking: scheduled, economy, departing between two days and four weeks
# from now (far from the sales cut-off, inside the seeded schedule), most seats left first.
_CANDIDATES = """
SELECT f.id, f.carrier, f.origin, f.destination,
       (f.scheduled_departure AT TIME ZONE o.time_zone)::date AS local_date,
       (f.scheduled_departure AT TIME ZONE o.time_zone)::time AS local_time,
       c.capacity, c.capacity - c.seats_sold AS seats_left
FROM flights f
JOIN flight_cabins c ON c.flight_id = f.id AND c.cabin = 'economy'
JOIN airports o ON o.iata = f.origin
WHERE f.status = 'scheduled'
  AND f.scheduled_departure BETWEEN now() + interval '2 days' AND now() + interval '28 days'
  AND c.capacity - c.seats_sold >= $2
ORDER BY c.capacity - c.seats_sold DESC, f.id
LIMIT $1
"""


@dataclass(frozen=True, slots=True)
class Candidate:
    flight_id: int
    carrier: str
    origin: str
    destination: str
    local_date: date
    local_time: time
    capacity: int
    seats_left: int

    def search_body(self) -> dict[str, object]:
        """A one-way search that finds this flight and little else."""
        minute = self.local_time.replace(second=0, microsecond=0)
        return {
            "slices": [
                {
                    "origin": self.origin,
                    "destination": self.destination,
                    "date": self.local_date.isoformat(),
                    "departure_window": {
                        "from": minute.strftime("%H:%M"),
                        "to": minute.strftime("%H:%M"),
                    },
                }
            ],
            "max_connections": 0,
            "filters": {"airlines": [self.carrier.strip()]},
            "limit": 100,
        }


async def candidates(conn: asyncpg.Connection, count: int, min_seats: int) -> list[Candidate]:
    rows = await conn.fetch(_CANDIDATES, count, min_seats)
    return [Candidate(*row.values()) for row in rows]


async def unbooked(conn: asyncpg.Connection, flight_id: int) -> bool:
    """Whether no booking holds the flight (a reused home keeps earlier runs' bookings)."""
    found = await conn.fetchval(
        "SELECT 1 FROM booking_segments WHERE flight_id = $1 LIMIT 1", flight_id
    )
    return found is None


async def set_seats_left(
    conn: asyncpg.Connection, flight_id: int, seats_left: int
) -> tuple[int, datetime]:
    """Leave exactly ``seats_left`` economy seats on the flight; its capacity, and the
    database's clock then (later bookings are the race's)."""
    row = await conn.fetchrow(
        """UPDATE flight_cabins SET seats_sold = capacity - $2
           WHERE flight_id = $1 AND cabin = 'economy' RETURNING capacity, now() AS at""",
        flight_id,
        seats_left,
    )
    assert row is not None
    return int(row["capacity"]), row["at"]


@dataclass(frozen=True, slots=True)
class RaceCheck:
    capacity: int
    seats_sold: int
    bookings: int
    passengers: int
    tickets: int
    duplicate_seats: int
    charges_succeeded: int
    charges_voided: int
    charges_declined: int
    payments: int
    charged_minor: int
    paid_minor: int


_RACE_CHECK = """
WITH race_bookings AS (
    SELECT DISTINCT b.id FROM bookings b
    JOIN booking_segments s ON s.booking_id = b.id
    WHERE s.flight_id = $1 AND b.status = 'confirmed' AND b.created_at >= $3
)
SELECT c.capacity, c.seats_sold,
       (SELECT count(*) FROM race_bookings) AS bookings,
       (SELECT count(*) FROM passengers p JOIN race_bookings r ON r.id = p.booking_id)
           AS passengers,
       (SELECT count(*) FROM tickets t JOIN race_bookings r ON r.id = t.booking_id
         WHERE t.status = 'open') AS tickets,
       (SELECT count(*) FROM (
            SELECT seat FROM seat_assignments WHERE flight_id = $1
             GROUP BY seat HAVING count(*) > 1
            UNION ALL
            SELECT passenger_id::text FROM seat_assignments WHERE flight_id = $1
             GROUP BY passenger_id HAVING count(*) > 1) AS d) AS duplicate_seats,
       (SELECT count(*) FILTER (WHERE status = 'succeeded') FROM simulated_provider_ledger
         WHERE kind = 'charge' AND idempotency_key LIKE $2) AS charges_succeeded,
       (SELECT count(*) FILTER (WHERE status = 'voided') FROM simulated_provider_ledger
         WHERE kind = 'charge' AND idempotency_key LIKE $2) AS charges_voided,
       (SELECT count(*) FILTER (WHERE status = 'declined') FROM simulated_provider_ledger
         WHERE kind = 'charge' AND idempotency_key LIKE $2) AS charges_declined,
       (SELECT count(*) FROM payments pay JOIN race_bookings r ON r.id = pay.booking_id
         WHERE pay.kind = 'charge' AND pay.status = 'succeeded') AS payments,
       (SELECT coalesce(sum(amount_minor), 0) FROM simulated_provider_ledger
         WHERE kind = 'charge' AND status = 'succeeded' AND idempotency_key LIKE $2)
           AS charged_minor,
       (SELECT coalesce(sum(pay.amount_minor), 0) FROM payments pay
          JOIN race_bookings r ON r.id = pay.booking_id
         WHERE pay.kind = 'charge' AND pay.status = 'succeeded') AS paid_minor
FROM flight_cabins c
WHERE c.flight_id = $1 AND c.cabin = 'economy'
"""


def provider_keys_like(key_prefix: str) -> str:
    """A LIKE pattern for the provider keys of one run's requests.

    The booking service keys a charge ``booking.create:{user}:{Idempotency-Key}:{digest}``
    (domain/bookings/idempotency.py), and the bench's keys start with the run's prefix.
    """
    return f"booking.create:%:{key_prefix}-%"


async def race_check(
    conn: asyncpg.Connection, flight_id: int, key_prefix: str, since: datetime
) -> RaceCheck:
    """The race's flight and what the race's bookings (made since ``since``) left behind."""
    row = await conn.fetchrow(_RACE_CHECK, flight_id, provider_keys_like(key_prefix), since)
    assert row is not None
    return RaceCheck(*row.values())


async def charges(conn: asyncpg.Connection, key_prefix: str) -> dict[str, int]:
    """Simulated provider charges of one run, by status."""
    rows = await conn.fetch(
        """SELECT status, count(*) AS n FROM simulated_provider_ledger
           WHERE kind = 'charge' AND idempotency_key LIKE $1 GROUP BY status""",
        provider_keys_like(key_prefix),
    )
    return {row["status"]: int(row["n"]) for row in rows}


# CPU of PostgreSQL by role ---------------------------------------------------------------

_PROCESSES = """
SELECT pid, CASE WHEN backend_type = 'client backend' THEN application_name
                 ELSE backend_type END AS role
FROM pg_stat_activity
"""


async def postgres_cpu_by_role(
    conn: asyncpg.Connection, postmaster: int
) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of each PostgreSQL process, by pid, with its role: the client's
    application name for a backend, else the backend type; the postmaster's entry also
    holds its reaped children (backends and workers that have exited)."""
    rows = await conn.fetch(_PROCESSES)
    found: dict[int, tuple[str, float]] = {}
    for row in rows:
        seconds = cpu_seconds(row["pid"])
        if seconds is not None:
            found[row["pid"]] = (row["role"] or "(unnamed client)", seconds)
    own = cpu_seconds(postmaster, reaped=True)
    found[postmaster] = ("postmaster and exited processes", own or 0.0)
    return found


def cpu_by_role(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds spent between two snapshots, summed by role."""
    spent: dict[str, float] = {}
    for pid, (role, seconds) in after.items():
        spent[role] = spent.get(role, 0.0) + seconds - before.get(pid, (role, 0.0))[1]
    exited = "postmaster and exited processes"
    for pid, (_role, seconds) in before.items():
        if pid not in after:  # its whole life's CPU is now in the postmaster's reaped time
            spent[exited] = spent.get(exited, 0.0) - seconds
    return dict(sorted(spent.items(), key=lambda item: -item[1]))
