"""Fares of an itinerary for a passenger mix, in the traveller's currency.

Each leg is priced with its carrier's fare brand of the chosen name (Light,
Standard, Flex...) as a percentage of the cabin's base fare, per passenger
type, then converted at the reference rates; an offer's conditions are the
strictest of its legs' (refundable only if every leg is).

Fees follow fare components, not legs. Each slice (one direction of travel) is one
through fare component, whichever carriers fly its legs, and carries one change fee
and one cancellation fee per passenger: the highest of its legs' brands, since the
strictest rule of a through fare governs it. The fees of the components add up.

Taxes, fees and carrier surcharges (``taxes.py``) are added per leg on top of the base
fares, capped per direction of travel where a rule says so; an offer's total includes
them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from domain.reference import FareBrand, ReferenceData, TaxKind, half_even
from domain.search.itineraries import Itinerary, Leg
from domain.search.models import Passengers, PassengerType
from domain.search.taxes import Tax, TaxBook, by_code, capped


@dataclass(frozen=True, slots=True)
class Price:
    """A priced offer candidate: per-passenger-type base fares, the taxes, the total for
    the whole passenger mix (taxes included), and the conditions."""

    brand: str
    adult: int
    child: int
    infant: int
    total: int
    change_fee: int
    cancellation_fee: int
    refundable: bool
    changeable: bool
    checked_bags: int
    taxes: tuple[Tax, ...] = ()
    # Carried rather than summed again from ``taxes`` at every join of a search.
    taxes_total: int = 0
    # Some tax is charged at most so many times per direction of travel: a fare component
    # of these legs must cap it. Most legs have none, and their taxes simply add up.
    capped_taxes: bool = False


def _percent(amount: int, pct: int) -> int:
    return half_even(amount * pct, 100)


def brand_names(ref: ReferenceData, legs: Sequence[Leg], cabin: str) -> list[str]:
    """Brand names every leg's carrier sells in this cabin, cheapest first."""
    common: list[str] | None = None
    for leg in legs:
        names = [b.name for b in ref.brands.get((leg.carrier, cabin), ())]
        common = names if common is None else [n for n in common if n in names]
    return common or []


def _brand(ref: ReferenceData, leg: Leg, cabin: str, name: str) -> FareBrand:
    for brand in ref.brands[(leg.carrier, cabin)]:
        if brand.name == name:
            return brand
    raise KeyError(name)


class PriceBook:
    """Prices of one search: each leg is priced once per brand, however many itineraries
    and combinations it appears in."""

    def __init__(
        self,
        ref: ReferenceData,
        cabin: str,
        passengers: Passengers,
        currency: str,
        *,
        taxes: bool = True,
    ) -> None:
        self.ref = ref
        self.cabin = cabin
        self.passengers = passengers
        self.currency = currency
        # Off for base fares alone (a ticket's fare calculation line, in NUC): the taxes
        # were most of a leg's pricing.
        self.taxes = (
            TaxBook(ref, cabin=cabin, currency=currency,
                    passengers=(passengers.adults, passengers.children, passengers.infants))
            if taxes else None
        )  # fmt: skip
        self._legs: dict[tuple[int, str], Price] = {}

    def leg(self, leg: Leg, name: str) -> Price:
        key = (leg.id, name)
        found = self._legs.get(key)
        if found is None:
            found = self._legs[key] = self._price_leg(leg, name)
        return found

    def _price_leg(self, leg: Leg, name: str) -> Price:
        ref, currency = self.ref, self.currency
        brand = _brand(ref, leg, self.cabin, name)
        adult_fare = _percent(leg.fare_minor, brand.price_pct)
        adult = ref.convert(adult_fare, leg.currency, currency)
        child = ref.convert(_percent(adult_fare, brand.child_pct), leg.currency, currency)
        infant = ref.convert(_percent(adult_fare, brand.infant_pct), leg.currency, currency)
        carrier_currency = ref.carriers[leg.carrier][1]
        pax = self.passengers
        taxes = self.taxes.leg(
            leg.origin, leg.destination, leg.carrier, base_currency=leg.currency,
            base=(adult_fare, _percent(adult_fare, brand.child_pct),
                  _percent(adult_fare, brand.infant_pct)),
        ) if self.taxes is not None else ()  # fmt: skip
        taxes_total = sum(tax.total for tax in taxes)
        return Price(
            name, adult, child, infant,
            adult * pax.adults + child * pax.children + infant * pax.infants + taxes_total,
            ref.convert(brand.change_fee_minor, carrier_currency, currency),
            ref.convert(brand.cancellation_fee_minor, carrier_currency, currency),
            brand.refundable, brand.changeable, brand.checked_bags, taxes, taxes_total,
            any(tax.max_per_slice is not None for tax in taxes),
        )  # fmt: skip

    def itinerary(self, itinerary: Itinerary, name: str) -> Price:
        """One itinerary is one slice, so one fare component."""
        return fare_component([self.leg(leg, name) for leg in itinerary.legs])

    def itineraries(self, itineraries: Sequence[Itinerary], name: str) -> Price:
        return combine([self.itinerary(it, name) for it in itineraries])


def _join(
    parts: Sequence[Price],
    fee: Callable[[Iterable[int]], int],
    kept: tuple[Tax, ...],
    taxes_total: int,
) -> Price:
    first = parts[0]
    base = sum(p.total - p.taxes_total for p in parts)
    return Price(
        first.brand,
        sum(p.adult for p in parts), sum(p.child for p in parts), sum(p.infant for p in parts),
        base + taxes_total, fee(p.change_fee for p in parts),
        fee(p.cancellation_fee for p in parts), all(p.refundable for p in parts),
        all(p.changeable for p in parts), min(p.checked_bags for p in parts), kept, taxes_total,
        any(p.capped_taxes for p in parts),
    )  # fmt: skip


def fare_component(legs: Sequence[Price]) -> Price:
    """The legs of one through fare: fares add up; one fee each, the strictest leg's;
    taxes capped per direction of travel."""
    if len(legs) == 1:  # one leg carries each rule once: nothing to cap
        return legs[0]
    if not any(p.capped_taxes for p in legs):
        kept = tuple(tax for p in legs for tax in p.taxes)
        return _join(legs, max, kept, sum(p.taxes_total for p in legs))
    kept = capped([p.taxes for p in legs])
    return _join(legs, max, kept, sum(tax.total for tax in kept))


def combine(components: Sequence[Price]) -> Price:
    """Fare components of a journey: fares, fees and taxes add up; conditions are the
    strictest. Its total is the components' totals added up (see ``combined_total``)."""
    if len(components) == 1:
        return components[0]
    kept = tuple(tax for p in components for tax in p.taxes)
    return _join(components, sum, kept, sum(p.taxes_total for p in components))


def combined_total(components: Sequence[Price]) -> int:
    """``combine(components).total`` without building the journey's price: a search
    ranks and filters hundreds of combinations and shows a page of them."""
    return sum(p.total for p in components)


def price(
    ref: ReferenceData,
    itineraries: Sequence[Itinerary],
    cabin: str,
    brand_name: str,
    passengers: Passengers,
    currency: str,
) -> Price:
    return PriceBook(ref, cabin, passengers, currency).itineraries(itineraries, brand_name)


@dataclass(frozen=True, slots=True)
class UnitPrice:
    """What one passenger of a type pays: the base fare and each tax by code."""

    passenger_type: PassengerType
    count: int
    base: int
    taxes: tuple[tuple[str, TaxKind, int], ...]

    @property
    def unit(self) -> int:
        return self.base + sum(amount for _, _, amount in self.taxes)


def unit_prices(price: Price, passengers: Passengers) -> list[UnitPrice]:
    """Per passenger type that travels, in adult, child, infant order."""
    mix: tuple[tuple[PassengerType, int, int], ...] = (
        ("adult", passengers.adults, price.adult), ("child", passengers.children, price.child),
        ("infant", passengers.infants, price.infant),
    )  # fmt: skip
    return [
        UnitPrice(kind, count, base, tuple(by_code(price.taxes, kind)))
        for kind, count, base in mix
        if count
    ]
