"""Reference data held in memory: airports, carriers, fare brands, exchange rates,
minimum connection times and tax rules.

A few thousand rows that change rarely and are read on every search: loading
them once per process (and again after ``ttl`` seconds) turns per-leg joins
into dictionary lookups.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Literal

import asyncpg

# The values tax_rules' CHECK constraints allow (migration 0021).
TaxKind = Literal["government", "airport", "carrier"]
LeviedOn = Literal["departure", "arrival"]
TaxRoute = Literal["any", "domestic", "international", "short_haul", "long_haul"]


def half_even(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half to even, in integers (denominator > 0)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return quotient


@dataclass(frozen=True, slots=True)
class AirportInfo:
    iata: str
    name: str
    city: str
    country: str
    time_zone: str
    latitude: float = 0.0
    longitude: float = 0.0


@dataclass(frozen=True, slots=True)
class FareBrand:
    code: str
    carrier: str
    cabin: str
    name: str
    price_pct: int
    child_pct: int
    infant_pct: int
    refundable: bool
    changeable: bool
    change_fee_minor: int
    cancellation_fee_minor: int
    checked_bags: int


@dataclass(frozen=True, slots=True)
class Rate:
    units_per_usd: Decimal
    minor_digits: int


@dataclass(frozen=True, slots=True)
class TaxRule:
    id: int
    code: str
    name: str
    kind: TaxKind
    levied_on: LeviedOn
    country: str | None
    airport: str | None
    carrier: str | None
    route: TaxRoute
    premium: bool | None
    amount_minor: int | None
    currency: str | None
    percent_bp: int | None
    children: bool
    infants: bool
    max_per_slice: int | None


@dataclass
class TaxTable:
    """Tax rules indexed by where they are levied, so a leg looks up only its own."""

    departing_country: dict[str, list[TaxRule]] = field(default_factory=dict)
    departing_airport: dict[str, list[TaxRule]] = field(default_factory=dict)
    arriving_country: dict[str, list[TaxRule]] = field(default_factory=dict)
    carrier: dict[str, list[TaxRule]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # code -> name
    # (origin, destination, carrier, premium) -> the rules that apply to such a leg, filled
    # by domain.search.taxes as legs are priced: a table is replaced, not changed, when the
    # reference data reloads, so what is remembered here never goes stale.
    routes: dict[tuple[str, str, str, bool], tuple[TaxRule, ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, rules: list[TaxRule]) -> TaxTable:
        table = cls()
        for rule in rules:
            table.names.setdefault(rule.code, rule.name)
            if rule.carrier is not None:
                index, key = table.carrier, rule.carrier
            elif rule.levied_on == "arrival" and rule.country is not None:
                index, key = table.arriving_country, rule.country
            elif rule.airport is not None:
                index, key = table.departing_airport, rule.airport
            else:
                index, key = table.departing_country, rule.country or ""
            index.setdefault(key, []).append(rule)
        return table

    def __bool__(self) -> bool:
        return bool(self.names)


@dataclass
class ReferenceData:
    airports: dict[str, AirportInfo]
    carriers: dict[str, tuple[str, str]]  # code -> (name, currency)
    aircraft: dict[str, str]  # code -> name
    brands: dict[tuple[str, str], list[FareBrand]]  # (carrier, cabin) -> by price
    rates: dict[str, Rate]
    # Airports that share a city, for connections that change airport (LHR -> LGW).
    metro: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # (airport, arriving status, departing status) -> minutes; statuses 'D' or 'I'.
    connection_minutes: dict[tuple[str, str, str], int] = field(default_factory=dict)
    taxes: TaxTable = field(default_factory=TaxTable)
    loaded_at: float = 0.0
    _ratios: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    def same_city(self, iata: str) -> tuple[str, ...]:
        return self.metro.get(iata, (iata,))

    def convert(self, amount_minor: int, source: str, target: str) -> int:
        """Minor units of ``source`` as minor units of ``target`` at the reference rates,
        rounded half to even; exact integer arithmetic (the hot loop of search pricing)."""
        if source == target:
            return amount_minor
        ratio = self._ratios.get((source, target))
        if ratio is None:
            src, dst = self.rates[source], self.rates[target]
            exact = (
                Fraction(dst.units_per_usd)
                * 10**dst.minor_digits
                / (Fraction(src.units_per_usd) * 10**src.minor_digits)
            )
            ratio = self._ratios[(source, target)] = (exact.numerator, exact.denominator)
        return half_even(amount_minor * ratio[0], ratio[1])


_AIRPORTS = "SELECT iata, name, city, country, time_zone, latitude, longitude FROM airports"
_CARRIERS = "SELECT code, name, currency FROM airlines"
_AIRCRAFT = "SELECT code, name FROM aircraft_types"
_BRANDS = """
SELECT code, carrier, cabin, name, price_pct, child_pct, infant_pct, refundable, changeable,
       change_fee_minor, cancellation_fee_minor, checked_bags
FROM fare_brands ORDER BY carrier, cabin, price_pct, code
"""
_RATES = "SELECT currency, units_per_usd, minor_digits FROM exchange_rates"
_CONNECTIONS = "SELECT airport, arriving, departing, minutes FROM minimum_connection_times"
_TAX_RULES = """
SELECT id, code, name, kind, levied_on, country, airport, rtrim(carrier) AS carrier, route,
       premium, amount_minor, currency, percent_bp, children, infants, max_per_slice
FROM tax_rules ORDER BY id
"""


async def load_reference(pool: asyncpg.Pool) -> ReferenceData:
    async with pool.acquire() as conn:
        airports = {r["iata"]: AirportInfo(**dict(r)) for r in await conn.fetch(_AIRPORTS)}
        carriers = {
            r["code"].strip(): (r["name"], r["currency"]) for r in await conn.fetch(_CARRIERS)
        }
        aircraft = {r["code"]: r["name"] for r in await conn.fetch(_AIRCRAFT)}
        brands: dict[tuple[str, str], list[FareBrand]] = {}
        for r in await conn.fetch(_BRANDS):
            brand = FareBrand(**{**dict(r), "carrier": r["carrier"].strip()})
            brands.setdefault((brand.carrier, brand.cabin), []).append(brand)
        rates = {
            r["currency"]: Rate(r["units_per_usd"], r["minor_digits"])
            for r in await conn.fetch(_RATES)
        }
        connection_minutes = {
            (r["airport"], r["arriving"], r["departing"]): r["minutes"]
            for r in await conn.fetch(_CONNECTIONS)
        }
        # The table's CHECK constraints hold kind, levied_on and route to their Literals.
        taxes = TaxTable.of([TaxRule(**dict(r)) for r in await conn.fetch(_TAX_RULES)])
    cities: dict[tuple[str, str], list[str]] = {}
    for airport in airports.values():
        if airport.city:
            cities.setdefault((airport.city, airport.country), []).append(airport.iata)
    metro = {
        iata: tuple(sorted(group)) for group in cities.values() if len(group) > 1 for iata in group
    }
    return ReferenceData(
        airports, carriers, aircraft, brands, rates, metro, connection_minutes, taxes,
        loaded_at=time.monotonic(),
    )  # fmt: skip


class ReferenceCache:
    """Loads reference data on first use and again when it is older than ``ttl``."""

    def __init__(self, pool: asyncpg.Pool, *, ttl: float = 300.0) -> None:
        self.pool = pool
        self.ttl = ttl
        self._data: ReferenceData | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> ReferenceData:
        data = self._data
        if data is not None and time.monotonic() - data.loaded_at < self.ttl:
            return data
        async with self._lock:
            if self._data is None or time.monotonic() - self._data.loaded_at >= self.ttl:
                self._data = await load_reference(self.pool)
            return self._data

    def invalidate(self) -> None:
        self._data = None
