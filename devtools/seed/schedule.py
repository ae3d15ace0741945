"""A deterministic generated schedule: a hub-and-spoke network expanded into daily legs.

Pure Python, no database. The same (seed, flights, days, start_date) always
gives the same rows: every random choice comes from ``random.Random(seed)``
walked in a fixed order while the network is built, and per-leg variation
comes from a hash of (seed, flight id), so rows do not depend on how the legs
are chunked. Leg ``i`` (0-based) is day ``i // P``, daily pattern ``i % P``,
and gets flight id ``i + 1``.
"""

from __future__ import annotations

import math
import random
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from devtools.seed.reference import (
    AIRLINES,
    CURRENCY_PER_USD,
    HUB_AIRPORTS,
    AircraftType,
    Airline,
    Airport,
    aircraft_by_code,
    airports,
    airports_by_iata,
)

# Column order of the rows below, as the loader hands them to COPY.
FLIGHT_COLUMNS = (
    "id",
    "carrier",
    "flight_number",
    "service_date",
    "origin",
    "destination",
    "aircraft_type",
    "scheduled_departure",
    "scheduled_arrival",
    "departure_terminal",
    "departure_gate",
    "arrival_terminal",
)
CABIN_COLUMNS = ("flight_id", "cabin", "capacity", "seats_sold", "base_fare_minor", "currency")

FlightRow = tuple[
    int, str, int, date, str, str, str, datetime, datetime, str | None, str | None, str | None
]
CabinRow = tuple[int, str, int, int, int, str]

EARTH_RADIUS_KM = 6371.0088
# Block time = this allowance for taxi, climb and descent + distance at cruise speed.
TAXI_MINUTES = 30
# Departures leave hubs in banks, so that connections line up (local minutes).
BANKS = (390, 480, 585, 690, 795, 900, 1005, 1110, 1215, 1305)
EARLIEST_DEPARTURE = 6 * 60
LATEST_DEPARTURE = 23 * 60
MAX_FLIGHT_NUMBER = 9999
MAX_DAILY_FREQUENCY = 24

MIN_ROUTE_KM = 150  # closer airports are one city: nobody flies between them
REGIONAL_MAX_KM = 900
NARROWBODY_MAX_KM = 4500
SPOKE_MAX_KM = 3500
SMALL_SPOKE_MAX_KM = 1200  # small airports only get flights from a nearby hub
RANGE_RESERVE = 1.1  # a type flies routes up to its range / this

_TURNAROUND_MINUTES = {"regional": 30, "narrowbody": 45, "widebody": 120}
_CABIN_FARE_MULTIPLIER = {
    "economy": 1.0,
    "premium_economy": 1.7,
    "business": 3.75,
    "first": 6.0,
}
_CABIN_LOAD_FACTOR = {"economy": 1.0, "premium_economy": 0.85, "business": 0.75, "first": 0.5}
# Fare variation by weekday (Monday first) and by month.
_WEEKDAY_FARE = (1.0, 0.92, 0.94, 1.02, 1.12, 0.97, 1.1)
_MONTH_FARE = (0.9, 0.9, 0.98, 1.02, 1.0, 1.1, 1.18, 1.15, 1.0, 1.0, 0.92, 1.12)

# Names of places that are not passenger airports, whatever their IATA code.
_NOT_PASSENGER = re.compile(
    r"\b(air base|air force|afb|army|naval|military|marine corps|coast guard|station|"
    r"airstrip|strip|seaplane|heliport|harbou?r|hbr|bus|hotel)\b",
    re.IGNORECASE,
)
_MASK64 = (1 << 64) - 1


def great_circle_km(a: Airport, b: Airport) -> float:
    """Haversine distance between two airports."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def block_minutes(distance_km: float, cruise_kmh: int) -> int:
    """Scheduled gate-to-gate time, rounded to 5 minutes."""
    return 5 * round((TAXI_MINUTES + distance_km / cruise_kmh * 60) / 5)


def airport_weight(airport: Airport) -> float:
    """How much traffic an airport attracts: 0 for places that are not passenger airports."""
    if airport.is_hub:
        return 40.0
    if airport.icao is None or not airport.icao.isalpha() or _NOT_PASSENGER.search(airport.name):
        return 0.0
    return 6.0 if "international" in airport.name.lower() else 0.25


def _stable_hash(text: str) -> int:
    # hash() of a str changes between processes; crc32 does not.
    return zlib.crc32(text.encode())


def _mix(key: int) -> int:
    """splitmix64: a well-spread 64-bit hash of an integer."""
    z = (key + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


@dataclass(frozen=True, slots=True)
class PatternCabin:
    cabin: str
    capacity: int
    base_fare_minor: float  # before day-of-week, season and per-leg variation
    load_factor: float


@dataclass(frozen=True, slots=True)
class Pattern:
    """A flight that operates every day: one flight number of one carrier."""

    carrier: str
    flight_number: int
    origin: str
    destination: str
    aircraft_type: str
    departure: time  # local time at the origin
    block: timedelta
    distance_km: float
    time_zone: ZoneInfo  # the origin's
    departure_terminal: str | None
    departure_gate: str | None
    arrival_terminal: str | None
    currency: str
    cabins: tuple[PatternCabin, ...]


@dataclass(frozen=True, slots=True)
class _Route:
    origin: Airport
    destination: Airport
    distance_km: float
    aircraft: AircraftType
    frequency: int


# Network ----------------------------------------------------------------------


def _choose_aircraft(
    fleet: list[AircraftType], distance_km: float, rng: random.Random
) -> AircraftType | None:
    usable = [t for t in fleet if t.range_km >= distance_km * RANGE_RESERVE]
    if not usable:
        return None
    if distance_km < REGIONAL_MAX_KM:
        preference = ("regional", "narrowbody", "widebody")
    elif distance_km < NARROWBODY_MAX_KM:
        preference = ("narrowbody", "regional", "widebody")
    else:
        preference = ("widebody", "narrowbody", "regional")
    for category in preference:
        fitting = [t for t in usable if t.category == category]
        if fitting:
            return rng.choice(fitting)
    return None


def _base_frequency(distance_km: float, trunk: bool) -> int:
    if distance_km < 800:
        frequency = 4
    elif distance_km < 2000:
        frequency = 3
    elif distance_km < NARROWBODY_MAX_KM:
        frequency = 2
    else:
        frequency = 1
    return frequency + 1 if trunk and distance_km < NARROWBODY_MAX_KM else frequency


@cache
def _trunk_ends() -> tuple[str, ...]:
    return tuple(sorted(HUB_AIRPORTS | {h for a in AIRLINES for h in a.hubs}))


@cache
def _neighbours(hub_code: str) -> tuple[tuple[str, float, float], ...]:
    """(IATA, distance, weight) of every passenger airport, by IATA, seen from a hub."""
    hub = airports_by_iata()[hub_code]
    found = []
    for end in airports():
        weight = airport_weight(end)
        if weight > 0 and end.iata != hub_code:
            found.append((end.iata, great_circle_km(hub, end), weight))
    return tuple(found)


def _candidate_routes(airline: Airline, rng: random.Random) -> Iterator[_Route]:
    """Every route the carrier could fly, most attractive first (weighted random order)."""
    by_iata = airports_by_iata()
    aircraft = aircraft_by_code()
    fleet = [aircraft[code] for code in airline.fleet]
    reach = max(t.range_km for t in fleet) / RANGE_RESERVE
    spoke_reach = min(reach, SPOKE_MAX_KM)
    trunk_ends = _trunk_ends()

    weighted: list[tuple[float, str, str]] = []
    for hub_code in airline.hubs:
        hub = by_iata[hub_code]
        for code in trunk_ends:
            distance = great_circle_km(hub, by_iata[code])
            if code != hub_code and MIN_ROUTE_KM <= distance <= reach:
                weight = 120.0 if code in airline.hubs else 40.0
                weighted.append((weight, hub_code, code))
        for code, distance, weight in _neighbours(hub_code):
            if code in HUB_AIRPORTS:
                continue  # a trunk end, weighed above
            limit = spoke_reach if weight >= 1 else min(spoke_reach, SMALL_SPOKE_MAX_KM)
            if MIN_ROUTE_KM <= distance <= limit:
                # Nearer spokes fill more seats than far ones of the same size.
                weighted.append((weight * min(1.0, 1500.0 / distance), hub_code, code))

    # Efraimidis-Spirakis: sorting by u ** (1 / w) is a weighted sample without replacement.
    keyed = sorted(
        ((rng.random() ** (1.0 / w), origin, dest) for w, origin, dest in weighted),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    seen: set[frozenset[str]] = set()
    for _, origin_code, dest_code in keyed:
        pair = frozenset((origin_code, dest_code))
        if pair in seen:
            continue
        origin, dest = by_iata[origin_code], by_iata[dest_code]
        distance = great_circle_km(origin, dest)
        plane = _choose_aircraft(fleet, distance, rng)
        if plane is None:
            continue
        seen.add(pair)
        trunk = dest_code in trunk_ends
        yield _Route(origin, dest, distance, plane, _base_frequency(distance, trunk))


def _sized_routes(routes: Iterator[_Route], patterns: int, carrier: str) -> list[_Route]:
    """The first routes whose daily legs (both directions) reach ``patterns``."""
    chosen: list[_Route] = []
    total = 0
    for route in routes:
        if total >= patterns:
            break
        chosen.append(route)
        total += 2 * route.frequency
    if total >= patterns:
        return chosen
    # Every candidate is flown and more is wanted: add frequencies, short routes first.
    frequencies = [r.frequency for r in chosen]
    order = sorted(range(len(chosen)), key=lambda i: (chosen[i].distance_km, i))
    while total < patterns:
        grown = False
        for i in order:
            if total >= patterns:
                break
            if frequencies[i] < MAX_DAILY_FREQUENCY:
                frequencies[i] += 1
                total += 2
                grown = True
        if not grown:
            raise ValueError(f"carrier {carrier} cannot fly {patterns} legs a day; use more days")
    return [
        _Route(r.origin, r.destination, r.distance_km, r.aircraft, f)
        for r, f in zip(chosen, frequencies, strict=True)
    ]


def _departure_minutes(frequency: int, rng: random.Random) -> list[int]:
    """Local departure minutes of a route's daily flights out of a hub."""
    if frequency <= len(BANKS):
        step = len(BANKS) / frequency
        phase = rng.random() * step
        minutes = [BANKS[int(phase + k * step)] for k in range(frequency)]
    else:
        spacing = (LATEST_DEPARTURE - 30 - EARLIEST_DEPARTURE) / frequency
        minutes = [EARLIEST_DEPARTURE + int(k * spacing) for k in range(frequency)]
    return [5 * ((m + 5 * rng.randrange(5)) // 5) for m in minutes]


def _return_minute(
    route: _Route, outbound: int, block: int, reference: date, rng: random.Random
) -> int:
    """Local departure of the return leg: after the outbound lands and the aircraft turns."""
    noon = datetime.combine(reference, time(12))
    arrival = outbound + block + _utc_offset_minutes(route.destination.time_zone, noon)
    arrival -= _utc_offset_minutes(route.origin.time_zone, noon)
    ready = arrival + _TURNAROUND_MINUTES[route.aircraft.category]
    minute = (5 * math.ceil(ready / 5)) % 1440
    if not EARLIEST_DEPARTURE <= minute <= LATEST_DEPARTURE:
        # Lands too late (or too early) to turn: the aircraft leaves next morning.
        minute = EARLIEST_DEPARTURE + 5 * rng.randrange(19)
    return minute


def _utc_offset_minutes(time_zone: str, local: datetime) -> int:
    offset = local.replace(tzinfo=ZoneInfo(time_zone)).utcoffset()
    assert offset is not None
    return int(offset.total_seconds() // 60)


def _terminal(carrier: str, airport: Airport) -> str | None:
    """The terminal a carrier uses at an airport: the same one for all its flights."""
    if airport.is_hub:
        count = 2 + _stable_hash(airport.iata) % 4
    elif "international" in airport.name.lower():
        count = 1 + _stable_hash(airport.iata) % 2
    else:
        return None
    return str(1 + _stable_hash(carrier + airport.iata) % count)


def _gate(airport: Airport, rng: random.Random) -> str:
    if airport.is_hub:
        piers = "ABCDEFGH"[: 2 + _stable_hash(airport.iata) % 6]
        return f"{piers[rng.randrange(len(piers))]}{rng.randint(1, 60)}"
    if "international" in airport.name.lower():
        return f"{'AB'[rng.randrange(2)]}{rng.randint(1, 30)}"
    return str(rng.randint(1, 12))


def _cabins(route: _Route, airline: Airline, rng: random.Random) -> tuple[PatternCabin, ...]:
    economy_usd = 40 + 0.08 * route.distance_km
    level = rng.uniform(0.9, 1.15) * CURRENCY_PER_USD[airline.currency] * 100
    load = rng.uniform(0.55, 0.95)
    return tuple(
        PatternCabin(
            cabin=layout.cabin,
            capacity=layout.seats,
            base_fare_minor=economy_usd * _CABIN_FARE_MULTIPLIER[layout.cabin] * level,
            load_factor=load * _CABIN_LOAD_FACTOR[layout.cabin],
        )
        for layout in route.aircraft.cabins
    )


def _pattern(
    airline: Airline,
    number: int,
    route: _Route,
    minute: int,
    rng: random.Random,
) -> Pattern:
    block = block_minutes(route.distance_km, route.aircraft.cruise_kmh)
    return Pattern(
        carrier=airline.code,
        flight_number=number,
        origin=route.origin.iata,
        destination=route.destination.iata,
        aircraft_type=route.aircraft.code,
        departure=time(minute // 60, minute % 60),
        block=timedelta(minutes=block),
        distance_km=route.distance_km,
        time_zone=ZoneInfo(route.origin.time_zone),
        departure_terminal=_terminal(airline.code, route.origin),
        departure_gate=_gate(route.origin, rng),
        arrival_terminal=_terminal(airline.code, route.destination),
        currency=airline.currency,
        cabins=_cabins(route, airline, rng),
    )


def build_patterns(seed: int, per_day: int, reference: date) -> tuple[Pattern, ...]:
    """About ``per_day`` daily patterns over every carrier, ordered by time of day.

    ``reference`` fixes the UTC offsets used to line up return legs with the
    outbound ones; the patterns themselves are in local time and stay there.
    """
    rng = random.Random(seed)
    total_size = sum(a.size for a in AIRLINES)
    patterns: list[Pattern] = []
    for airline in AIRLINES:
        share = max(2, math.ceil(per_day * airline.size / total_size))
        routes = _sized_routes(_candidate_routes(airline, rng), share, airline.code)
        number = 1
        for route in routes:
            back = _Route(route.destination, route.origin, route.distance_km, route.aircraft, 0)
            block = block_minutes(route.distance_km, route.aircraft.cruise_kmh)
            for minute in _departure_minutes(route.frequency, rng):
                if number + 1 > MAX_FLIGHT_NUMBER:
                    raise ValueError(
                        f"carrier {airline.code} would need more than {MAX_FLIGHT_NUMBER} "
                        "flight numbers; use more days"
                    )
                # Outbound flights from the hub are odd, their returns even.
                patterns.append(_pattern(airline, number, route, minute, rng))
                back_minute = _return_minute(route, minute, block, reference, rng)
                patterns.append(_pattern(airline, number + 1, back, back_minute, rng))
                number += 2

    noon = datetime.combine(reference, time(12))

    def utc_minute(p: Pattern) -> int:
        local = p.departure.hour * 60 + p.departure.minute
        return (local - _utc_offset_minutes(p.time_zone.key, noon)) % 1440

    # Ordered by UTC time of day, so that within a day ids roughly follow departure time.
    patterns.sort(key=lambda p: (utc_minute(p), p.carrier, p.flight_number))
    return tuple(patterns)


# Legs ---------------------------------------------------------------------------


class Schedule:
    """``flights`` legs of daily patterns over ``days`` days from ``start_date``."""

    def __init__(
        self, *, flights: int, days: int, seed: int, start_date: date | None = None
    ) -> None:
        if flights < 1:
            raise ValueError("flights must be at least 1")
        if days < 1:
            raise ValueError("days must be at least 1")
        self.flights = flights
        self.days = days
        self.seed = seed
        self.start_date = start_date or datetime.now(UTC).date()
        self.patterns = build_patterns(seed, math.ceil(flights / days), self.start_date)
        self._salt = _mix(seed & _MASK64)

    @property
    def per_day(self) -> int:
        return len(self.patterns)

    def chunks(self, size: int) -> Iterator[tuple[int, int]]:
        """Consecutive ``[start, stop)`` ranges of leg indexes covering the schedule."""
        for start in range(0, self.flights, size):
            yield start, min(start + size, self.flights)

    def _days(self, start: int, stop: int) -> Iterator[tuple[int, date, tuple[Pattern, ...], int]]:
        """(day index, date, the patterns of that day within the range, first leg id)."""
        per_day = len(self.patterns)
        for day in range(start // per_day, (stop - 1) // per_day + 1):
            first = day * per_day
            lo, hi = max(start - first, 0), min(stop - first, per_day)
            yield day, self.start_date + timedelta(days=day), self.patterns[lo:hi], first + lo + 1

    def flight_rows(self, start: int = 0, stop: int | None = None) -> Iterator[FlightRow]:
        """Rows for ``flights`` (``FLIGHT_COLUMNS``) of legs ``start`` to ``stop``."""
        stop = self.flights if stop is None else min(stop, self.flights)
        combine = datetime.combine
        for _, day, patterns, flight_id in self._days(start, stop):
            for p in patterns:
                # Local wall time at the origin, whatever the UTC offset is on that day.
                departure = combine(day, p.departure, p.time_zone).astimezone(UTC)
                yield (
                    flight_id,
                    p.carrier,
                    p.flight_number,
                    day,
                    p.origin,
                    p.destination,
                    p.aircraft_type,
                    departure,
                    departure + p.block,
                    p.departure_terminal,
                    p.departure_gate,
                    p.arrival_terminal,
                )
                flight_id += 1

    def cabin_rows(self, start: int = 0, stop: int | None = None) -> Iterator[CabinRow]:
        """Rows for ``flight_cabins`` (``CABIN_COLUMNS``) of legs ``start`` to ``stop``."""
        stop = self.flights if stop is None else min(stop, self.flights)
        salt = self._salt
        for day_index, day, patterns, flight_id in self._days(start, stop):
            day_fare = _WEEKDAY_FARE[day.weekday()] * _MONTH_FARE[day.month - 1]
            # Legs further out have sold fewer seats so far.
            booked = 1 - 0.6 * day_index / (day_index + 20)
            for p in patterns:
                h = _mix(salt ^ flight_id)
                for cabin in p.cabins:
                    h = _mix(h)
                    fare_noise = 0.92 + 0.16 * (h & 0xFFFFFFFF) / 0xFFFFFFFF
                    load_noise = 0.8 + 0.4 * (h >> 32) / 0xFFFFFFFF
                    fare = round(cabin.base_fare_minor * day_fare * fare_noise / 100) * 100
                    sold = int(cabin.capacity * cabin.load_factor * booked * load_noise)
                    yield (
                        flight_id,
                        cabin.cabin,
                        cabin.capacity,
                        min(sold, cabin.capacity),
                        fare,
                        p.currency,
                    )
                flight_id += 1
