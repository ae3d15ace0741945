"""Reference data: real airports, fictional airlines, aircraft types and fare brands.

Airports come from the ``airportsdata`` package; everything else is curated
here. All of it is plain, immutable Python: the loader writes it, the schedule
generator reads it, and neither needs a database to know what it contains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from zoneinfo import available_timezones

import airportsdata

from domain.reference import FareBrand

CABINS = ("first", "business", "premium_economy", "economy")

# Real major hubs (roughly the world's busiest airports by passengers). They
# anchor trunk routes and rank first in airport search.
HUB_AIRPORTS = frozenset((
    "ATL", "PEK", "PKX", "LAX", "DXB", "HND", "ORD", "LHR", "PVG", "CDG", "DFW", "CAN",
    "AMS", "HKG", "ICN", "FRA", "DEN", "DEL", "SIN", "BKK", "JFK", "KUL", "MAD", "SFO",
    "CTU", "SZX", "CGK", "BCN", "IST", "SEA", "LAS", "MCO", "YYZ", "MEX", "CLT", "SVO",
    "TPE", "MUC", "MNL", "LGW", "EWR", "PHX", "MIA", "SHA", "IAH", "BOM", "SYD", "FCO",
    "MSP", "DOH", "DTW", "BOS", "MEL", "GRU", "PHL", "NRT", "JED", "ZRH", "VIE", "CPH",
    "OSL", "ARN", "DUB", "MAN", "BRU", "LIS", "HEL", "ATH", "YVR", "YUL", "BOG", "LIM",
    "SCL", "GIG", "CUN", "JNB", "CAI", "ADD", "NBO", "RUH", "AUH", "TLV", "SGN", "HAN",
    "KIX", "BNE", "AKL", "SLC", "IAD", "BLR", "MAA", "HYD", "DPS", "SAW", "PMI", "STN",
    "GVA", "MXP",
))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Airport:
    iata: str
    icao: str | None
    name: str
    city: str
    subdivision: str | None
    country: str
    time_zone: str
    latitude: float
    longitude: float
    elevation_ft: int | None
    is_hub: bool


_IATA = re.compile(r"^[A-Z]{3}$")
_ICAO = re.compile(r"^[A-Z0-9]{4}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@cache
def airports() -> tuple[Airport, ...]:
    """Every usable airport of ``airportsdata``, sorted by IATA code.

    Entries the schema's CHECKs would reject, or whose time zone this Python
    does not know, are left out: a schedule needs both to place a departure.
    A malformed ICAO code (the dataset has a few placeholders like ``_AYM``)
    is dropped rather than the airport.
    """
    zones = available_timezones()
    found = []
    for iata, entry in sorted(airportsdata.load("IATA").items()):
        icao = entry["icao"] or None
        if icao is not None and not _ICAO.match(icao):
            icao = None
        if (
            not _IATA.match(iata)
            or not entry["name"]
            or not _COUNTRY.match(entry["country"])
            or entry["tz"] not in zones
            or not -90 <= entry["lat"] <= 90
            or not -180 <= entry["lon"] <= 180
        ):
            continue
        elevation = entry["elevation"]
        found.append(
            Airport(
                iata=iata,
                icao=icao,
                name=entry["name"],
                city=entry["city"],
                subdivision=entry["subd"] or None,
                country=entry["country"],
                time_zone=entry["tz"],
                latitude=float(entry["lat"]),
                longitude=float(entry["lon"]),
                elevation_ft=None if elevation is None else round(elevation),
                is_hub=iata in HUB_AIRPORTS,
            )
        )
    return tuple(found)


@cache
def airports_by_iata() -> dict[str, Airport]:
    return {a.iata: a for a in airports()}


# Airlines ---------------------------------------------------------------------

# Approximate units of each currency per US dollar: fares and fees are defined
# in dollars and converted, so that a fare in INR looks like a fare in INR. All
# of these currencies have two decimal places (ISO 4217 exponent 2).
CURRENCY_PER_USD = {
    "USD": 1.0,
    "EUR": 0.92,
    "GBP": 0.79,
    "AED": 3.67,
    "SGD": 1.35,
    "MXN": 17.0,
    "BRL": 5.0,
    "AUD": 1.52,
    "CAD": 1.36,
    "CHF": 0.88,
    "CNY": 7.2,
    "INR": 83.0,
    "ZAR": 18.5,
}


@dataclass(frozen=True, slots=True)
class Airline:
    code: str
    icao: str
    name: str
    country: str
    ticket_prefix: str
    currency: str
    hubs: tuple[str, ...]
    # Aircraft types it flies; the generator picks among them by distance.
    fleet: tuple[str, ...]
    # Relative size: its share of the generated daily flights.
    size: int


# Fictional carriers with real hubs. Codes may coincide with real airlines'
# (the two-letter space is nearly full); names and ticket prefixes are made up.
AIRLINES: tuple[Airline, ...] = (
    Airline("SB", "SKB", "Skybound Airways", "US", "901", "USD",
            ("JFK", "ORD", "DFW"), ("E75", "7M8", "738", "32N", "789", "77W"), 14),
    Airline("KA", "KTL", "Kestrel Atlantic", "GB", "902", "GBP",
            ("LHR", "MAN"), ("320", "32N", "789", "359", "388"), 8),
    Airline("AE", "AUE", "Aurora Europa", "NL", "903", "EUR",
            ("AMS", "CDG"), ("E90", "32N", "738", "789", "77W"), 9),
    Airline("FG", "FGA", "Falcon Gulf Airways", "AE", "904", "AED",
            ("DXB",), ("7M8", "789", "77W", "359", "388"), 6),
    Airline("SO", "STO", "Straits Orient", "SG", "905", "SGD",
            ("SIN", "HKG"), ("32N", "7M8", "789", "359", "77W", "388"), 7),
    Airline("ZP", "ZPR", "Zephyr", "IE", "906", "EUR",
            ("DUB", "STN", "BCN"), ("738", "320"), 10),
    Airline("RC", "RDG", "Ridgeline Connect", "US", "907", "USD",
            ("DEN", "MSP", "CLT"), ("AT7", "CR9", "E75"), 9),
    Airline("CB", "CLB", "Colibri Airlines", "MX", "908", "MXN",
            ("MEX", "CUN"), ("320", "32N", "7M8", "789"), 6),
    Airline("IP", "IPE", "Ipe Linhas Aereas", "BR", "909", "BRL",
            ("GRU", "BSB"), ("AT7", "E90", "32N", "789"), 6),
    Airline("SC", "SCX", "Southern Cross Skyways", "AU", "910", "AUD",
            ("SYD", "MEL"), ("AT7", "738", "32N", "789", "359"), 6),
    Airline("MN", "MPN", "Maple North", "CA", "911", "CAD",
            ("YYZ", "YVR"), ("E75", "7M8", "32N", "789"), 6),
    Airline("AH", "AHV", "Alpine Helvetic", "CH", "912", "CHF",
            ("ZRH", "GVA"), ("E90", "32N", "359"), 4),
    Airline("SH", "SLH", "Silk Horizon", "TR", "913", "USD",
            ("IST",), ("32N", "7M8", "789", "77W"), 6),
    Airline("SF", "SFS", "Saffron Skies", "IN", "914", "INR",
            ("DEL", "BOM"), ("AT7", "320", "32N", "789"), 7),
    Airline("BB", "BAO", "Baobab Airways", "ZA", "915", "ZAR",
            ("JNB", "CPT"), ("AT7", "738", "32N", "359"), 4),
    Airline("JC", "JCR", "Jade Crane Airlines", "CN", "916", "CNY",
            ("PVG", "PEK"), ("320", "32N", "789", "359", "77W"), 7),
)  # fmt: skip


# Aircraft -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CabinLayout:
    cabin: str
    first_row: int
    last_row: int
    seat_letters: str  # as seen from above, aisles as spaces: 'ABC DEF'
    exit_rows: tuple[int, ...] = ()
    extra_legroom_rows: tuple[int, ...] = ()

    @property
    def seats(self) -> int:
        return (self.last_row - self.first_row + 1) * len(self.seat_letters.replace(" ", ""))


@dataclass(frozen=True, slots=True)
class AircraftType:
    code: str  # IATA, e.g. 32N
    icao: str  # e.g. A20N
    name: str
    range_km: int
    cruise_kmh: int
    category: str  # 'regional', 'narrowbody' or 'widebody': drives route assignment
    cabins: tuple[CabinLayout, ...]

    @property
    def seats(self) -> int:
        return sum(c.seats for c in self.cabins)


def _exit(*rows: int) -> dict[str, tuple[int, ...]]:
    return {"exit_rows": rows, "extra_legroom_rows": rows}


AIRCRAFT_TYPES: tuple[AircraftType, ...] = (
    AircraftType("AT7", "AT76", "ATR 72-600", 1500, 510, "regional", (
        CabinLayout("economy", 1, 18, "AC DF", (1, 18), (1,)),
    )),
    AircraftType("CR9", "CRJ9", "Bombardier CRJ900", 2900, 830, "regional", (
        CabinLayout("business", 1, 3, "A CD"),
        CabinLayout("economy", 5, 21, "AC DF", (12,), (5, 12)),
    )),
    AircraftType("E75", "E175", "Embraer 175", 3700, 830, "regional", (
        CabinLayout("business", 1, 3, "A CD"),
        CabinLayout("economy", 10, 26, "AC DF", (14,), (10, 14)),
    )),
    AircraftType("E90", "E190", "Embraer 190", 4500, 830, "regional", (
        CabinLayout("business", 1, 5, "AC DF"),
        CabinLayout("economy", 6, 25, "AC DF", **_exit(10, 11)),
    )),
    AircraftType("320", "A320", "Airbus A320", 6100, 840, "narrowbody", (
        CabinLayout("economy", 1, 30, "ABC DEF", **_exit(11, 12)),
    )),
    AircraftType("32N", "A20N", "Airbus A320neo", 6300, 840, "narrowbody", (
        CabinLayout("business", 1, 4, "AC DF"),
        CabinLayout("economy", 5, 31, "ABC DEF", **_exit(12, 13)),
    )),
    AircraftType("738", "B738", "Boeing 737-800", 5400, 840, "narrowbody", (
        CabinLayout("economy", 1, 31, "ABC DEF", **_exit(15, 16)),
    )),
    AircraftType("7M8", "B38M", "Boeing 737 MAX 8", 6500, 840, "narrowbody", (
        CabinLayout("business", 1, 4, "AC DF"),
        CabinLayout("economy", 7, 32, "ABC DEF", **_exit(16, 17)),
    )),
    AircraftType("789", "B789", "Boeing 787-9", 14000, 905, "widebody", (
        CabinLayout("business", 1, 8, "A DG K"),
        CabinLayout("premium_economy", 20, 23, "AC DFG HK", (), (20,)),
        CabinLayout("economy", 30, 54, "ABC DEF HJK", (30, 42), (30, 42)),
    )),
    AircraftType("77W", "B77W", "Boeing 777-300ER", 13600, 905, "widebody", (
        CabinLayout("first", 1, 2, "A DG K"),
        CabinLayout("business", 6, 15, "A DG K"),
        CabinLayout("premium_economy", 20, 22, "AC DEFG HK", (), (20,)),
        CabinLayout("economy", 30, 60, "ABC DEFG HJK", (30, 45), (30, 45)),
    )),
    AircraftType("359", "A359", "Airbus A350-900", 15000, 903, "widebody", (
        CabinLayout("business", 1, 9, "A DG K"),
        CabinLayout("premium_economy", 15, 18, "AC DEF HK", (), (15,)),
        CabinLayout("economy", 30, 56, "ABC DEF HJK", (30, 44), (30, 44)),
    )),
    AircraftType("388", "A388", "Airbus A380-800", 15000, 900, "widebody", (
        CabinLayout("first", 1, 3, "A DG K"),
        CabinLayout("business", 6, 24, "A DG K"),
        CabinLayout("premium_economy", 30, 33, "AC DEFG HK", (), (30,)),
        CabinLayout("economy", 40, 80, "ABC DEFG HJK", (40, 60), (40, 60)),
    )),
)  # fmt: skip


@cache
def aircraft_by_code() -> dict[str, AircraftType]:
    return {a.code: a for a in AIRCRAFT_TYPES}


# Fare brands ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _BrandTemplate:
    name: str
    price_pct: int
    refundable: bool
    changeable: bool
    change_fee_usd: int
    cancellation_fee_usd: int
    checked_bags: int
    child_pct: int = 75
    infant_pct: int = 10


_BRANDS: dict[str, tuple[_BrandTemplate, ...]] = {
    "economy": (
        _BrandTemplate("Light", 100, False, False, 0, 0, 0),
        _BrandTemplate("Standard", 130, False, True, 75, 0, 1),
        _BrandTemplate("Flex", 180, True, True, 0, 0, 2),
    ),
    "premium_economy": (
        _BrandTemplate("Standard", 100, False, True, 100, 0, 2),
        _BrandTemplate("Flex", 140, True, True, 0, 0, 2),
    ),
    "business": (
        _BrandTemplate("Standard", 100, True, True, 150, 200, 2),
        _BrandTemplate("Flex", 130, True, True, 0, 0, 3),
    ),
    "first": (_BrandTemplate("Flex", 100, True, True, 0, 0, 3, child_pct=100),),
}

_CABIN_ABBREVIATION = {
    "first": "FIR",
    "business": "BUS",
    "premium_economy": "PRE",
    "economy": "ECO",
}


def to_minor(amount_usd: float, currency: str) -> int:
    """A dollar amount in ``currency``'s minor units, rounded to a whole major unit."""
    return round(amount_usd * CURRENCY_PER_USD[currency]) * 100


def fare_brands() -> tuple[FareBrand, ...]:
    """Brands of every carrier for every cabin its fleet has."""
    aircraft = aircraft_by_code()
    brands = []
    for airline in AIRLINES:
        cabins = {c.cabin for code in airline.fleet for c in aircraft[code].cabins}
        for cabin in CABINS:
            if cabin not in cabins:
                continue
            for t in _BRANDS[cabin]:
                brands.append(
                    FareBrand(
                        code=f"{airline.code}_{_CABIN_ABBREVIATION[cabin]}_{t.name.upper()}",
                        carrier=airline.code,
                        cabin=cabin,
                        name=t.name,
                        price_pct=t.price_pct,
                        child_pct=t.child_pct,
                        infant_pct=t.infant_pct,
                        refundable=t.refundable,
                        changeable=t.changeable,
                        change_fee_minor=to_minor(t.change_fee_usd, airline.currency),
                        cancellation_fee_minor=to_minor(t.cancellation_fee_usd, airline.currency),
                        checked_bags=t.checked_bags,
                    )
                )
    return tuple(brands)
