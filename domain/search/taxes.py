"""Taxes, fees and carrier surcharges on a leg, from the ``tax_rules`` reference table.

A rule is levied per passenger: on a leg's departure from its country or airport, on its
arrival in its country from abroad, or (carrier surcharges) on every leg its carrier
flies; narrowed by route type (domestic, international, short or long haul by
great-circle distance) and cabin; children and lap infants are exempt unless the rule
says otherwise. Amounts are fixed in the rule's currency or a share of the leg's base
fare, and are converted into the selling currency like fares are. A rule capped per
direction of travel (``max_per_slice``) is charged on its first legs only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from domain.reference import AirportInfo, ReferenceData, TaxKind, TaxRule, half_even

# A flight under this great-circle distance is short haul (the UK's band A boundary).
SHORT_HAUL_MILES = 2000
_EARTH_RADIUS_MILES = 3958.8


@dataclass(frozen=True, slots=True)
class Tax:
    """One rule charged on one leg, per passenger of each type and for the whole mix."""

    rule_id: int
    code: str
    kind: TaxKind
    adult: int
    child: int
    infant: int
    total: int
    max_per_slice: int | None


def miles_between(a: AirportInfo, b: AirportInfo) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_MILES * math.asin(math.sqrt(h))


def _route_matches(rule: TaxRule, domestic: bool, miles: float) -> bool:
    match rule.route:
        case "domestic":
            return domestic
        case "international":
            return not domestic
        case "short_haul":
            return miles < SHORT_HAUL_MILES
        case "long_haul":
            return miles >= SHORT_HAUL_MILES
    return True


def _candidates(ref: ReferenceData, origin: AirportInfo, destination: AirportInfo,
                carrier: str, domestic: bool) -> Iterable[TaxRule]:  # fmt: skip
    taxes = ref.taxes
    yield from taxes.departing_country.get(origin.country, ())
    yield from taxes.departing_airport.get(origin.iata, ())
    if not domestic:
        yield from taxes.arriving_country.get(destination.country, ())
    yield from taxes.carrier.get(carrier, ())


def applicable(
    ref: ReferenceData, origin: str, destination: str, carrier: str, premium: bool
) -> tuple[TaxRule, ...]:
    """The rules levied on a leg of this route, carrier and cabin class, whatever its fare:
    found once per reference table, since a search prices thousands of legs over a few
    hundred routes (the distance and the route type were most of a leg's pricing)."""
    key = (origin, destination, carrier, premium)
    rules = ref.taxes.routes.get(key)
    if rules is None:
        here, there = ref.airports[origin], ref.airports[destination]
        domestic = here.country == there.country
        miles = miles_between(here, there)
        rules = ref.taxes.routes[key] = tuple(
            rule
            for rule in _candidates(ref, here, there, carrier, domestic)
            if _route_matches(rule, domestic, miles)
            and (rule.premium is None or rule.premium == premium)
        )
    return rules


def _charged(rule: TaxRule, each: Sequence[int], passengers: tuple[int, int, int]) -> Tax:
    adult = each[0]
    child = each[1] if rule.children else 0
    infant = each[2] if rule.infants else 0
    total = adult * passengers[0] + child * passengers[1] + infant * passengers[2]
    return Tax(rule.id, rule.code, rule.kind, adult, child, infant, total, rule.max_per_slice)


class TaxBook:
    """The taxes of the legs of one search or booking: one cabin, selling currency and
    passenger mix. A fixed amount is the same on every leg of a route and carrier, so it is
    converted once per route; only a share of a fare is worked out leg by leg (taxes were
    most of the cost of pricing a leg)."""

    def __init__(
        self, ref: ReferenceData, *, cabin: str, currency: str, passengers: tuple[int, int, int]
    ) -> None:
        self.ref = ref
        self.premium = cabin != "economy"
        self.currency = currency
        self.passengers = passengers
        # route and carrier -> its rules in order: a fixed rule already charged (a Tax),
        # a share of the fare still a TaxRule; and whether every one is fixed.
        self._routes: dict[tuple[str, str, str], tuple[tuple[Tax | TaxRule, ...], bool]] = {}

    def _fixed(self, rule: TaxRule) -> Tax:
        currency = self.currency
        amount = self.ref.convert(rule.amount_minor or 0, rule.currency or currency, currency)
        return _charged(rule, (amount, amount, amount), self.passengers)

    def leg(
        self,
        origin: str,
        destination: str,
        carrier: str,
        *,
        base: tuple[int, int, int],
        base_currency: str,
    ) -> tuple[Tax, ...]:
        """The taxes of one leg, in the selling currency. ``base``: the adult, child and
        infant base fares in ``base_currency``."""
        if not self.ref.taxes:
            return ()
        key = (origin, destination, carrier)
        found = self._routes.get(key)
        if found is None:
            rules = applicable(self.ref, origin, destination, carrier, self.premium)
            template = tuple(self._fixed(r) if r.percent_bp is None else r for r in rules)
            found = self._routes[key] = (template, all(isinstance(t, Tax) for t in template))
        template, all_fixed = found
        if all_fixed:
            return template  # type: ignore[return-value]  # every item is a Tax
        ref, currency = self.ref, self.currency
        return tuple(
            item if isinstance(item, Tax) else _charged(
                item,
                [ref.convert(half_even(fare * (item.percent_bp or 0), 10_000), base_currency,
                             currency) for fare in base],
                self.passengers,
            )
            for item in template
        )  # fmt: skip


def capped(legs: Sequence[Sequence[Tax]]) -> tuple[Tax, ...]:
    """The taxes of one direction of travel: each rule at most ``max_per_slice`` times."""
    seen: dict[int, int] = {}
    kept = []
    for taxes in legs:
        for tax in taxes:
            count = seen[tax.rule_id] = seen.get(tax.rule_id, 0) + 1
            if tax.max_per_slice is None or count <= tax.max_per_slice:
                kept.append(tax)
    return tuple(kept)


def by_code(taxes: Iterable[Tax], passenger_type: str) -> list[tuple[str, TaxKind, int]]:
    """Per passenger of a type: (code, kind, amount) per code and kind, in first-seen
    order, without zero lines."""
    sums: dict[tuple[str, TaxKind], int] = {}
    for tax in taxes:
        amount = getattr(tax, passenger_type)
        if amount:
            sums[(tax.code, tax.kind)] = sums.get((tax.code, tax.kind), 0) + amount
    return [(code, kind, amount) for (code, kind), amount in sums.items()]
