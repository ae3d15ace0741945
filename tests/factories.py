"""Factories for test data: plain SQL inserts with sensible defaults and explicit overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

AIRPORTS: dict[str, dict[str, Any]] = {
    "JFK": dict(icao="KJFK", name="John F Kennedy International Airport", city="New York",
                country="US", time_zone="America/New_York", latitude=40.64, longitude=-73.78,
                is_hub=True),
    "LGA": dict(icao="KLGA", name="LaGuardia Airport", city="New York", country="US",
                time_zone="America/New_York", latitude=40.78, longitude=-73.87),
    "LHR": dict(icao="EGLL", name="London Heathrow Airport", city="London", country="GB",
                time_zone="Europe/London", latitude=51.47, longitude=-0.46, is_hub=True),
    "LCY": dict(icao="EGLC", name="London City Airport", city="London", country="GB",
                time_zone="Europe/London", latitude=51.51, longitude=0.06),
    "CDG": dict(icao="LFPG", name="Paris Charles de Gaulle Airport", city="Paris",
                country="FR", time_zone="Europe/Paris", latitude=49.01, longitude=2.55,
                is_hub=True),
    "LAX": dict(icao="KLAX", name="Los Angeles International Airport", city="Los Angeles",
                country="US", time_zone="America/Los_Angeles", latitude=33.94,
                longitude=-118.41, is_hub=True),
    "LGW": dict(icao="EGKK", name="London Gatwick Airport", city="London", country="GB",
                time_zone="Europe/London", latitude=51.15, longitude=-0.19),
    "BOS": dict(icao="KBOS", name="Logan International Airport", city="Boston", country="US",
                time_zone="America/New_York", latitude=42.36, longitude=-71.01),
    "SYD": dict(icao="YSSY", name="Sydney Kingsford Smith Airport", city="Sydney",
                country="AU", time_zone="Australia/Sydney", latitude=-33.95, longitude=151.18),
}  # fmt: skip


async def add_airport(db: asyncpg.Connection, iata: str, **overrides: Any) -> str:
    fields = {**AIRPORTS.get(iata, {}), **overrides}
    await db.execute(
        """INSERT INTO airports (iata, icao, name, city, country, time_zone, latitude,
                                 longitude, is_hub)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)""",
        iata,
        fields.get("icao"),
        fields.get("name", f"{iata} Airport"),
        fields.get("city", iata.title()),
        fields.get("country", "US"),
        fields.get("time_zone", "UTC"),
        fields.get("latitude", 0.0),
        fields.get("longitude", 0.0),
        fields.get("is_hub", False),
    )
    return iata


async def add_airline(db: asyncpg.Connection, code: str = "SB", **overrides: Any) -> str:
    await db.execute(
        """INSERT INTO airlines (code, icao, name, country, ticket_prefix, currency)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        code,
        overrides.get("icao", "SKB" if code == "SB" else None),
        overrides.get("name", "Skybound Airways" if code == "SB" else f"Airline {code}"),
        overrides.get("country", "US"),
        overrides.get("ticket_prefix", "901" if code == "SB" else f"9{abs(hash(code)) % 90 + 10}"),
        overrides.get("currency", "USD"),
    )
    return code


async def add_aircraft(db: asyncpg.Connection, code: str = "32N") -> str:
    await db.execute(
        """INSERT INTO aircraft_types (code, icao, name, range_km, cruise_kmh)
           VALUES ($1, 'A20N', 'Airbus A320neo', 6300, 830)""",
        code,
    )
    return code


async def add_flight(
    db: asyncpg.Connection,
    *,
    origin: str,
    destination: str,
    departure: datetime,
    block: timedelta = timedelta(hours=2),
    carrier: str = "SB",
    number: int = 100,
    **fields: Any,
) -> int:
    """A leg departing at ``departure`` (aware); service date is the local date at the origin."""
    origin_tz = await db.fetchval("SELECT time_zone FROM airports WHERE iata = $1", origin)
    service_date: date = departure.astimezone(ZoneInfo(origin_tz)).date()
    columns = {
        "carrier": carrier,
        "flight_number": number,
        "service_date": service_date,
        "origin": origin,
        "destination": destination,
        "scheduled_departure": departure,
        "scheduled_arrival": departure + block,
        **fields,
    }
    names = ", ".join(columns)
    params = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return int(
        await db.fetchval(
            f"INSERT INTO flights ({names}) VALUES ({params}) RETURNING id", *columns.values()
        )
    )


async def add_jfk_departures(db: asyncpg.Connection, count: int) -> list[int]:
    """``count`` legs JFK-LHR at gate A1, half an hour apart from now on (in a world)."""
    await add_world(db)
    now = datetime.now(UTC).replace(microsecond=0)
    return [
        await add_flight(db, origin="JFK", destination="LHR", number=n,
                         departure=now + timedelta(minutes=30 * n), departure_gate="A1")
        for n in range(1, count + 1)
    ]  # fmt: skip


async def add_world(db: asyncpg.Connection) -> None:
    """The airports above, one airline and one aircraft type."""
    for iata in AIRPORTS:
        await add_airport(db, iata)
    await add_airline(db)
    await add_aircraft(db)


BRANDS = (
    # name, price_pct, refundable, changeable, change_fee_minor, bags
    ("Light", 100, False, False, 0, 0),
    ("Standard", 130, False, True, 7500, 1),
    ("Flex", 180, True, True, 0, 2),
)


async def add_brands(db: asyncpg.Connection, carrier: str, cabin: str = "economy") -> None:
    """Light, Standard and Flex brands of ``carrier`` (children 75%, infants 10%)."""
    for name, pct, refundable, changeable, fee, bags in BRANDS:
        await db.execute(
            """INSERT INTO fare_brands (code, carrier, cabin, name, price_pct, child_pct,
                                        infant_pct, refundable, changeable, change_fee_minor,
                                        checked_bags)
               VALUES ($1, $2, $3, $4, $5, 75, 10, $6, $7, $8, $9)""",
            f"{carrier}_{cabin[:3].upper()}_{name.upper()}", carrier, cabin, name, pct,
            refundable, changeable, fee, bags,
        )  # fmt: skip


async def add_cabin(
    db: asyncpg.Connection,
    flight_id: int,
    *,
    cabin: str = "economy",
    capacity: int = 150,
    sold: int = 0,
    fare_minor: int = 20000,
    currency: str = "USD",
) -> None:
    await db.execute(
        """INSERT INTO flight_cabins (flight_id, cabin, capacity, seats_sold, base_fare_minor,
                                      currency)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        flight_id, cabin, capacity, sold, fare_minor, currency,
    )  # fmt: skip


# Airbus A320, single class: rows 1-30 'ABC DEF', overwing exits at rows 11 and 12,
# extra legroom there and in the bulkhead row. (cabin, first, last, letters, exits, legroom)
A320_CABINS: tuple[tuple[str, int, int, str, tuple[int, ...], tuple[int, ...]], ...] = (
    ("economy", 1, 30, "ABC DEF", (11, 12), (1, 11, 12)),
)


async def add_aircraft_cabins(
    db: asyncpg.Connection,
    aircraft_type: str = "32N",
    cabins: tuple[tuple[str, int, int, str, tuple[int, ...], tuple[int, ...]], ...] = A320_CABINS,
) -> str:
    """Cabin layouts of an existing aircraft type (an A320's by default)."""
    for cabin, first_row, last_row, letters, exits, legroom in cabins:
        seats = (last_row - first_row + 1) * len(letters.replace(" ", ""))
        await db.execute(
            """INSERT INTO aircraft_cabins (aircraft_type, cabin, first_row, last_row,
                                            seat_letters, exit_rows, extra_legroom_rows, seats)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)""",
            aircraft_type, cabin, first_row, last_row, letters, list(exits), list(legroom), seats,
        )  # fmt: skip
    return aircraft_type


async def add_tax_rule(db: asyncpg.Connection, code: str, kind: str = "government",
                       **fields: Any) -> None:  # fmt: skip
    """A row of ``tax_rules``: ``fields`` as its columns (country, amount_minor, ...)."""
    columns = {"code": code, "name": f"{code} tax", "kind": kind, **fields}
    names = ", ".join(columns)
    places = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    await db.execute(f"INSERT INTO tax_rules ({names}) VALUES ({places})", *columns.values())
