"""Apply an SSIM schedule to the flights table: stage, compare, apply, in one transaction.

Expanded legs are COPYed into a temporary staging table, then compared with the
flights already there by their natural key (carrier, flight number, service date,
origin), which is the unique key of ``flights``:

- a leg not yet in ``flights`` is inserted with cabins from its aircraft type's
  seat layout and a distance-based opening fare;
- a leg whose times, destination, aircraft or terminals changed is updated in
  place, so the change-capture trigger tells boards and booked passengers;
- a leg of a carrier's period that the file no longer has is reported as
  missing, and cancelled (never deleted) only when asked.

Nothing is applied unless everything is: a problem anywhere rolls the whole
import back, and a dry run rolls back after computing the full report.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import asyncpg

from domain.schedules.expand import LEG_COLUMNS, Expansion, LegRow, ScheduleReference
from domain.schedules.ssim import SsimError, SsimFile, read_records
from foundation.bulk_load import restore_indexes, suspend_indexes
from foundation.errors import FieldError, ValidationFailed

log = logging.getLogger(__name__)

# Progress is reported after this many legs have been staged.
PROGRESS_LEGS = 50_000
# How many missing legs and duplicate keys a report lists by name.
SAMPLE = 20
# Two imports at once would each miss the other's legs: they take turns.
IMPORT_LOCK = 0x55494D  # "SIM"

Progress = Callable[[str, int], None]


class ScheduleRejected(ValidationFailed):
    """The file cannot be applied; ``errors`` name each record and field."""

    slug = "schedule-rejected"
    title = "Schedule rejected"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors, f"The schedule has {len(errors)} problem(s); nothing was applied.")


@dataclass(slots=True)
class ImportReport:
    records: int = 0
    legs: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    # Changed in the file but already under way (boarding, departed...): left alone.
    not_updated_operating: int = 0
    missing: int = 0
    missing_with_bookings: int = 0
    cancelled: int = 0
    missing_sample: list[dict[str, Any]] = field(default_factory=list)
    offset_mismatches: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False
    bulk_load: bool = False
    seconds: float = 0.0
    # Where the time went: parse, stage (expand and COPY), check, apply.
    stage_seconds: dict[str, float] = field(default_factory=dict)

    def lap(self, stage: str, since: float) -> float:
        now = time.perf_counter()
        self.stage_seconds[stage] = round(now - since, 3)
        return now

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def load_reference(conn: asyncpg.Connection) -> ScheduleReference:
    carriers = await conn.fetch("SELECT code FROM airlines")
    airports = await conn.fetch("SELECT iata, time_zone FROM airports")
    aircraft = await conn.fetch("SELECT DISTINCT aircraft_type FROM aircraft_cabins")
    return ScheduleReference(
        carriers=frozenset(r["code"] for r in carriers),
        airport_zones={r["iata"]: r["time_zone"] for r in airports},
        aircraft_types=frozenset(r["aircraft_type"] for r in aircraft),
    )


def parse_schedule(lines: Iterable[str]) -> SsimFile:
    """The parsed file, or ``ScheduleRejected`` naming every bad record and field."""
    try:
        return read_records(lines)
    except SsimError as exc:
        raise ScheduleRejected(exc.errors) from None


_STAGING = """
CREATE UNLOGGED TABLE schedule_staging (
    leg_no               integer NOT NULL,
    record_no            integer NOT NULL,
    carrier              char(2) NOT NULL,
    flight_number        integer NOT NULL,
    service_date         date NOT NULL,
    origin               char(3) NOT NULL,
    destination          char(3) NOT NULL,
    aircraft_type        text NOT NULL,
    scheduled_departure  timestamptz NOT NULL,
    scheduled_arrival    timestamptz NOT NULL,
    departure_terminal   text,
    arrival_terminal     text
)
"""

# The work tables of an import: created in its transaction (so a failed import leaves
# none), unlogged (no WAL for scratch rows) and in shared buffers (a temporary
# table's 8 MB of local buffers would spill a million legs to disk); dropped before
# commit. The import lock keeps two imports from meeting on their names.
_WORK_TABLES = ("schedule_staging", "schedule_matched", "schedule_changes", "schedule_missing")

_DUPLICATES = """
SELECT carrier, flight_number, service_date, origin,
       array_agg(record_no ORDER BY record_no) AS records
  FROM schedule_staging
 GROUP BY carrier, flight_number, service_date, origin
HAVING count(*) > 1
 LIMIT $1
"""

_MATCH = """
s.carrier = f.carrier AND s.flight_number = f.flight_number
AND s.service_date = f.service_date AND s.origin = f.origin
"""

# The staged legs that exist already (one join, used by every later step), and whether
# they changed. Terminals the file leaves blank keep what the flight has (SSIM files
# often omit them).
_MATCHED = f"""
CREATE UNLOGGED TABLE schedule_matched AS
SELECT s.leg_no, s.record_no, f.id, f.status, f.aircraft_type AS old_aircraft,
       s.aircraft_type AS new_aircraft,
       (f.destination, f.aircraft_type, f.scheduled_departure, f.scheduled_arrival,
        f.departure_terminal, f.arrival_terminal)
       IS DISTINCT FROM
       (s.destination, s.aircraft_type, s.scheduled_departure, s.scheduled_arrival,
        coalesce(s.departure_terminal, f.departure_terminal),
        coalesce(s.arrival_terminal, f.arrival_terminal)) AS changed
  FROM schedule_staging s JOIN flights f ON {_MATCH}
"""

_CHANGES = """
CREATE UNLOGGED TABLE schedule_changes AS
SELECT leg_no, record_no, id, status, old_aircraft, new_aircraft
  FROM schedule_matched WHERE changed
"""

# A new aircraft must seat everyone already sold in each cabin.
_SEAT_CONFLICTS = """
SELECT c.record_no, f.service_date, fc.cabin, fc.seats_sold, coalesce(ac.seats, 0) AS seats,
       c.new_aircraft
  FROM schedule_changes c
  JOIN flights f ON f.id = c.id
  JOIN flight_cabins fc ON fc.flight_id = c.id
  LEFT JOIN aircraft_cabins ac ON ac.aircraft_type = c.new_aircraft AND ac.cabin = fc.cabin
 WHERE c.status = 'scheduled' AND c.new_aircraft IS DISTINCT FROM c.old_aircraft
   AND fc.seats_sold > coalesce(ac.seats, 0)
 ORDER BY c.record_no, f.service_date
 LIMIT $1
"""

_UPDATE = """
UPDATE flights f
   SET destination = s.destination,
       aircraft_type = s.aircraft_type,
       scheduled_departure = s.scheduled_departure,
       scheduled_arrival = s.scheduled_arrival,
       departure_terminal = coalesce(s.departure_terminal, f.departure_terminal),
       arrival_terminal = coalesce(s.arrival_terminal, f.arrival_terminal)
  FROM schedule_changes c JOIN schedule_staging s ON s.leg_no = c.leg_no
 WHERE f.id = c.id AND c.status = 'scheduled'
"""

# The opening fare of a new leg: 40 USD plus 8 cents a great-circle kilometre for
# economy, scaled by cabin, in the carrier's currency (revenue management reprices).
_OPENING_FARE = """
round((40 + 0.08 * 2 * 6371.0088 * asin(least(1, sqrt(
          sin(radians(d.latitude - o.latitude) / 2) ^ 2
          + cos(radians(o.latitude)) * cos(radians(d.latitude))
            * sin(radians(d.longitude - o.longitude) / 2) ^ 2))))
      * CASE ac.cabin WHEN 'first' THEN 6.0 WHEN 'business' THEN 3.75
                      WHEN 'premium_economy' THEN 1.7 ELSE 1.0 END
      * coalesce(x.units_per_usd, 1))::bigint * (10 ^ coalesce(x.minor_digits, 2))::bigint
"""

_CABINS_FOR = f"""
SELECT {{flight}}, ac.cabin, ac.seats, 0, {_OPENING_FARE}, al.currency
  FROM {{source}}
  JOIN aircraft_cabins ac ON ac.aircraft_type = {{aircraft}}
  JOIN airlines al ON al.code = {{carrier}}
  JOIN airports o ON o.iata = {{origin}}
  JOIN airports d ON d.iata = {{destination}}
  LEFT JOIN exchange_rates x ON x.currency = al.currency
"""

_RESIZE_CABINS = (
    "INSERT INTO flight_cabins (flight_id, cabin, capacity, seats_sold, base_fare_minor, "
    "currency) "
    + _CABINS_FOR.format(
        flight="c.id",
        source="schedule_changes c JOIN flights f ON f.id = c.id",
        aircraft="c.new_aircraft",
        carrier="f.carrier",
        origin="f.origin",
        destination="f.destination",
    )
    + """ WHERE c.status = 'scheduled' AND c.new_aircraft IS DISTINCT FROM c.old_aircraft
ON CONFLICT (flight_id, cabin) DO UPDATE SET capacity = EXCLUDED.capacity"""
)

_DROP_CABINS = """
DELETE FROM flight_cabins fc
 USING schedule_changes c
 WHERE fc.flight_id = c.id AND c.status = 'scheduled'
   AND c.new_aircraft IS DISTINCT FROM c.old_aircraft
   AND NOT EXISTS (SELECT 1 FROM aircraft_cabins ac
                    WHERE ac.aircraft_type = c.new_aircraft AND ac.cabin = fc.cabin)
"""


def _insert_new(where: str) -> str:
    """New legs with their cabins, in one statement: the cabins join the rows just
    inserted. ``where`` picks the staged legs to insert (fixed text, never input)."""
    return (
        """
WITH n AS (
    INSERT INTO flights (carrier, flight_number, service_date, origin, destination,
                         aircraft_type, scheduled_departure, scheduled_arrival,
                         departure_terminal, arrival_terminal)
    SELECT s.carrier, s.flight_number, s.service_date, s.origin, s.destination,
           s.aircraft_type, s.scheduled_departure, s.scheduled_arrival,
           s.departure_terminal, s.arrival_terminal
      FROM schedule_staging s
     WHERE """
        + where
        + """
    RETURNING id, carrier, origin, destination, aircraft_type
)
INSERT INTO flight_cabins (flight_id, cabin, capacity, seats_sold, base_fare_minor, currency)
"""
        + _CABINS_FOR.format(
            flight="n.id",
            source="n",
            aircraft="n.aircraft_type",
            carrier="n.carrier",
            origin="n.origin",
            destination="n.destination",
        )
    )


_INSERT_ALL = _insert_new("true")
_INSERT_UNMATCHED = _insert_new(
    "NOT EXISTS (SELECT 1 FROM schedule_matched m WHERE m.leg_no = s.leg_no)"
)


# Legs of the file's carriers within their periods that the file does not have
# (before the new legs are inserted: every flight then is either matched or missing).
_MISSING = """
CREATE UNLOGGED TABLE schedule_missing AS
SELECT f.id, f.carrier, f.flight_number, f.service_date, f.origin, f.status,
       EXISTS (SELECT 1 FROM booking_segments b WHERE b.flight_id = f.id) AS booked
  FROM flights f
  JOIN unnest($1::text[], $2::date[], $3::date[]) AS p(carrier, first_day, last_day)
    ON f.carrier = p.carrier AND f.service_date BETWEEN p.first_day AND p.last_day
 WHERE f.status <> 'cancelled'
   AND NOT EXISTS (SELECT 1 FROM schedule_matched m WHERE m.id = f.id)
"""

_CANCEL_MISSING = """
UPDATE flights f SET status = 'cancelled'
  FROM schedule_missing m
 WHERE f.id = m.id AND f.status = 'scheduled'
"""


# Tables whose rows all reference a flight (NOT NULL): empty when flights is.
_EMPTY_WITH_FLIGHTS = frozenset(
    {"flights", "flight_cabins", "booking_segments", "seat_assignments", "seat_holds"}
)
_REFERENCING = """
SELECT coalesce(array_agg(DISTINCT c.conrelid::regclass::text), '{}')
  FROM pg_constraint c
 WHERE c.contype = 'f' AND c.confrelid IN ('flights'::regclass, 'flight_cabins'::regclass)
"""


def _count(status: str) -> int:
    """Rows affected, from a command tag such as 'INSERT 0 12' or 'SELECT 3'."""
    return int(status.split()[-1])


def _staged(rows: Iterator[LegRow], on_progress: Progress | None) -> Iterator[tuple[Any, ...]]:
    """Rows numbered for the staging table, reporting progress on the way."""
    for n, row in enumerate(rows, start=1):
        yield (n, *row)
        if on_progress is not None and n % PROGRESS_LEGS == 0:
            on_progress("staging", n)


async def import_schedule(
    conn: asyncpg.Connection,
    lines: Iterable[str],
    *,
    dry_run: bool = False,
    cancel_missing: bool = False,
    on_progress: Progress | None = None,
) -> ImportReport:
    """Parse, check and apply an SSIM file; all of it or nothing.

    Raises ``ScheduleRejected`` (every problem, by record number and field) when
    the file cannot be applied; a dry run computes the same report and applies
    nothing.
    """
    started = time.perf_counter()
    schedule = parse_schedule(lines)
    report = ImportReport(records=schedule.records, dry_run=dry_run)
    lap = report.lap("parse", started)
    transaction = conn.transaction()
    await transaction.start()
    try:
        await conn.execute("SET LOCAL statement_timeout = 0")
        # Hash joins and the duplicate check over a million staged legs stay in memory.
        await conn.execute("SET LOCAL work_mem = '64MB'")
        await conn.execute("SELECT pg_advisory_xact_lock($1)", IMPORT_LOCK)
        expansion = Expansion(schedule, await load_reference(conn))
        if expansion.check():
            raise ScheduleRejected(expansion.errors)
        await conn.execute(_STAGING)
        await conn.copy_records_to_table(
            "schedule_staging",
            columns=("leg_no", *LEG_COLUMNS),
            records=_staged(expansion.rows(), on_progress),
        )
        if expansion.errors:
            raise ScheduleRejected(expansion.errors)
        lap = report.lap("stage", lap)
        report.legs = expansion.legs
        report.offset_mismatches = [m.as_dict() for m in expansion.mismatches.values()]
        if on_progress is not None:
            on_progress("checking", report.legs)
        await conn.execute("ANALYZE schedule_staging")
        duplicates = await conn.fetch(_DUPLICATES, SAMPLE)
        if duplicates:
            raise ScheduleRejected([_duplicate_error(d) for d in duplicates])
        lap = report.lap("check", lap)

        await _apply(conn, expansion, report, cancel_missing, on_progress)
        lap = report.lap("apply", lap)
        await conn.execute(f"DROP TABLE IF EXISTS {', '.join(_WORK_TABLES)}")
        if dry_run:
            await transaction.rollback()
        else:
            await transaction.commit()
    except BaseException:
        await transaction.rollback()
        raise
    if not dry_run and report.inserted:
        await conn.execute("ANALYZE flights, flight_cabins")
        report.lap("analyze", lap)
    report.seconds = time.perf_counter() - started
    log.info("schedule imported", extra={k: v for k, v in report.as_dict().items()
                                         if isinstance(v, int | float | bool)})  # fmt: skip
    return report


async def _apply(
    conn: asyncpg.Connection,
    expansion: Expansion,
    report: ImportReport,
    cancel_missing: bool,
    on_progress: Progress | None,
) -> None:
    if on_progress is not None:
        on_progress("applying", report.legs)
    # Into an empty table, every leg is new and none can be missing: the bulk path
    # inserts them all and rebuilds indexes and constraints once.
    if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM flights)"):
        report.bulk_load = True
        report.inserted = report.legs
        await conn.execute("LOCK TABLE flights, flight_cabins IN ACCESS EXCLUSIVE MODE")
        # Truncated in this transaction, the tables' new rows skip the WAL when the
        # server runs with wal_level=minimal (the embedded one does). Only when every
        # table that references them is one known to be empty with them (its reference
        # is NOT NULL): a table added later might hold rows that a truncation would take.
        referencing = set(await conn.fetchval(_REFERENCING))
        if referencing <= _EMPTY_WITH_FLIGHTS:
            await conn.execute(
                "TRUNCATE flights, flight_cabins, booking_segments, seat_assignments, seat_holds"
            )
        await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        suspended = await suspend_indexes(conn, ("flights", "flight_cabins"))
        await conn.execute(_INSERT_ALL)
        await restore_indexes(conn, suspended)
        return

    matched = _count(await conn.execute(_MATCHED))
    await conn.execute(_CHANGES)
    conflicts = await conn.fetch(_SEAT_CONFLICTS, SAMPLE)
    if conflicts:
        raise ScheduleRejected([_seat_conflict_error(c) for c in conflicts])
    changes = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE status = 'scheduled') AS applied, "
        "count(*) FILTER (WHERE status <> 'scheduled') AS operating FROM schedule_changes"
    )
    report.updated, report.not_updated_operating = changes["applied"], changes["operating"]
    report.unchanged = matched - report.updated - report.not_updated_operating
    if report.updated:
        await conn.execute(_UPDATE)
        await conn.execute(_RESIZE_CABINS)
        await conn.execute(_DROP_CABINS)

    await _missing(conn, expansion, report, cancel_missing)
    # Duplicates were refused, so every staged leg either matched a flight or is new.
    report.inserted = report.legs - matched
    if report.inserted:
        await conn.execute(_INSERT_UNMATCHED)


async def _missing(
    conn: asyncpg.Connection, expansion: Expansion, report: ImportReport, cancel: bool
) -> None:
    periods = expansion.periods
    await conn.execute(
        _MISSING,
        list(periods),
        [p[0] for p in periods.values()],
        [p[1] for p in periods.values()],
    )
    summary = await conn.fetchrow(
        "SELECT count(*) AS missing, count(*) FILTER (WHERE booked) AS booked FROM schedule_missing"
    )
    report.missing, report.missing_with_bookings = summary["missing"], summary["booked"]
    sample = await conn.fetch(
        "SELECT id, carrier, flight_number, service_date, origin, status, booked "
        "FROM schedule_missing ORDER BY carrier, flight_number, service_date, origin LIMIT $1",
        SAMPLE,
    )
    report.missing_sample = [
        {**dict(r), "service_date": r["service_date"].isoformat()} for r in sample
    ]
    if cancel and report.missing:
        report.cancelled = _count(await conn.execute(_CANCEL_MISSING))


def _duplicate_error(row: asyncpg.Record) -> FieldError:
    records = row["records"]
    day: date = row["service_date"]
    return FieldError(
        f"records.{records[-1]}.flight_number",
        f"records {', '.join(map(str, records))}: flight {row['carrier']}{row['flight_number']} "
        f"from {row['origin']} operates twice on {day.isoformat()}",
        "duplicate_leg",
    )


def _seat_conflict_error(row: asyncpg.Record) -> FieldError:
    return FieldError(
        f"records.{row['record_no']}.aircraft_type",
        f"record {row['record_no']}: aircraft_type: {row['new_aircraft']} has "
        f"{row['seats']} {row['cabin']} seats but {row['seats_sold']} are sold on "
        f"{row['service_date'].isoformat()}",
        "seats_sold",
    )
