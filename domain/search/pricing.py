"""Fares of an itinerary for a passenger mix, in the traveller's currency.

Each leg is priced with its carrier's fare brand of the chosen name (Light,
Standard, Flex...) as a percentage of the cabin's base fare, per passenger
type, then converted at the reference rates; an offer's conditions are the
strictest of its legs' (refundable only if every leg is).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from domain.reference import FareBrand, ReferenceData
from domain.search.itineraries import Itinerary, Leg
from domain.search.models import Passengers


@dataclass(frozen=True, slots=True)
class Price:
    """A priced offer candidate: per-passenger-type unit prices and the conditions."""

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


def _percent(amount: int, pct: int) -> int:
    return int((Decimal(amount) * pct / 100).quantize(Decimal(1), ROUND_HALF_EVEN))


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


def price(
    ref: ReferenceData,
    itineraries: Sequence[Itinerary],
    cabin: str,
    brand_name: str,
    passengers: Passengers,
    currency: str,
) -> Price:
    adult = child = infant = change_fee = cancellation_fee = 0
    refundable = changeable = True
    bags = 99
    for itinerary in itineraries:
        for leg in itinerary.legs:
            brand = _brand(ref, leg, cabin, brand_name)
            adult_fare = _percent(leg.fare_minor, brand.price_pct)
            convert = ref.convert
            adult += convert(adult_fare, leg.currency, currency)
            child += convert(_percent(adult_fare, brand.child_pct), leg.currency, currency)
            infant += convert(_percent(adult_fare, brand.infant_pct), leg.currency, currency)
            carrier_currency = ref.carriers[leg.carrier][1]
            change_fee += convert(brand.change_fee_minor, carrier_currency, currency)
            cancellation_fee += convert(brand.cancellation_fee_minor, carrier_currency, currency)
            refundable &= brand.refundable
            changeable &= brand.changeable
            bags = min(bags, brand.checked_bags)
    total = adult * passengers.adults + child * passengers.children + infant * passengers.infants
    return Price(
        brand_name,
        adult,
        child,
        infant,
        total,
        change_fee,
        cancellation_fee,
        refundable,
        changeable,
        bags,
    )
