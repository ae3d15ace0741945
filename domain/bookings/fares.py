"""The fare a booking records: what was sold, per passenger type and tax, in one JSON
document on the booking (``bookings.fare``), written at booking and at a flight change.

It is the record that refunds, receipts and the booking's fare summary read, so it keeps
what the offer showed: base fares, each tax by code and kind, totals and conditions, and
per passenger type the ticket's fare calculation line: each fare component's route and
base fare in NUC (neutral units of construction; here one NUC is one US dollar), the
total, and the rate of exchange into the selling currency, as tickets print it:
``JFK SB LHR260.00 SB JFK260.00NUC520.00END ROE1.000000``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from domain.bookings.offers import OfferTerms
from domain.reference import ReferenceData
from domain.search.itineraries import Itinerary, Leg
from domain.search.models import Money, Passengers, PriceLine, TaxLine
from domain.search.pricing import Price, PriceBook, unit_prices
from domain.search.taxes import by_code

# Refunded when a passenger does not fly, whatever the fare's conditions: they pay for
# a departure that did not happen. Carrier surcharges follow the fare.
REFUNDABLE_TAX_KINDS = frozenset({"government", "airport"})


def _nuc(amount_minor: int) -> str:
    return f"{amount_minor // 100}.{amount_minor % 100:02d}"


def fare_calculations(
    terms: OfferTerms, ref: ReferenceData, legs: Mapping[int, Leg]
) -> dict[str, str]:
    """Per passenger type, the fare calculation line of the offer's fare components."""
    passengers = Passengers(adults=terms.adults, children=terms.children, infants=terms.infants)
    book = PriceBook(ref, terms.cabin, passengers, "USD", taxes=False)
    kinds = ("adult", "child", "infant")
    parts: dict[str, list[str]] = {kind: [] for kind in kinds}
    totals = dict.fromkeys(kinds, 0)
    previous: str | None = None
    for flight_ids in terms.slices:
        flown = tuple(legs[flight_id] for flight_id in flight_ids)
        component = book.itineraries([Itinerary(flown)], terms.brand)
        start = flown[0].origin
        route = start if previous is None else ("" if previous == start else f" /-{start}")
        route += "".join(f" {leg.carrier} {leg.destination}" for leg in flown)
        previous = flown[-1].destination
        for kind in kinds:
            amount = getattr(component, kind)
            parts[kind].append(f"{route}{_nuc(amount)}")
            totals[kind] += amount
    rate = ref.rates[terms.currency].units_per_usd
    return {
        kind: f"{''.join(parts[kind])}NUC{_nuc(totals[kind])}END ROE{rate:.6f}" for kind in kinds
    }


def fare_record(
    price: Price, terms: OfferTerms, ref: ReferenceData, legs: Mapping[int, Leg]
) -> dict[str, Any]:
    passengers = Passengers(adults=terms.adults, children=terms.children, infants=terms.infants)
    calculations = fare_calculations(terms, ref, legs)
    names = ref.taxes.names
    kinds = ("adult", "child", "infant")
    base = dict(zip(kinds, (price.adult, price.child, price.infant), strict=True))
    return {
        "brand": terms.brand, "cabin": terms.cabin, "currency": terms.currency,
        "fare_minor": price.total, "seats_minor": 0,
        "unit_minor": {kind: base[kind] + sum(a for _, _, a in by_code(price.taxes, kind))
                       for kind in kinds},
        "lines": [
            {"passenger_type": line.passenger_type, "count": line.count, "base_minor": line.base,
             "fare_calculation": calculations[line.passenger_type],
             "taxes": [{"code": code, "name": names.get(code, code), "kind": kind,
                        "amount_minor": amount} for code, kind, amount in line.taxes]}
            for line in unit_prices(price, passengers)
        ],
        "taxes_minor": price.taxes_total,
        "refundable_taxes_minor": sum(
            tax.total for tax in price.taxes if tax.kind in REFUNDABLE_TAX_KINDS
        ),
        "refundable": price.refundable, "changeable": price.changeable,
        "change_fee_minor": price.change_fee,
        "cancellation_fee_minor": price.cancellation_fee,
    }  # fmt: skip


def price_lines(fare: dict[str, Any], money: Callable[[int], Money]) -> list[PriceLine]:
    """The recorded fare per passenger type; none for bookings made before taxes were."""
    lines = []
    for line in fare.get("lines", ()):
        taxes = [
            TaxLine(code=t["code"], name=t["name"], kind=t["kind"], amount=money(t["amount_minor"]))
            for t in line["taxes"]
        ]
        unit = line["base_minor"] + sum(t["amount_minor"] for t in line["taxes"])
        lines.append(PriceLine(
            passenger_type=line["passenger_type"], count=line["count"],
            base=money(line["base_minor"]), taxes=taxes, unit=money(unit),
            total=money(unit * line["count"]),
        ))  # fmt: skip
    return lines


def taxes_by_code(
    fare: dict[str, Any], kinds: frozenset[str] | None = None
) -> list[dict[str, Any]]:
    """The recorded taxes for every passenger together, per code and kind (only ``kinds``
    when given): what a refund gives back of them."""
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    for line in fare.get("lines", ()):
        for tax in line["taxes"]:
            if kinds is not None and tax["kind"] not in kinds:
                continue
            entry = totals.setdefault((tax["code"], tax["kind"]), {
                "code": tax["code"], "name": tax["name"], "kind": tax["kind"],
                "amount_minor": 0,
            })  # fmt: skip
            entry["amount_minor"] += tax["amount_minor"] * line["count"]
    return list(totals.values())
