"""Offer ids from search, checked again at booking time.

An offer id is signed by the search service (domain/search/tokens.py) and names
the legs per slice, the cabin, the fare brand, the passenger mix, the total, the
currency and the expiry. Nothing in it is trusted beyond the signature: at
booking time the legs are locked and priced afresh from the database, and the
booking goes ahead only at the price the traveller was shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from domain.bookings.errors import (
    FlightNotBookable,
    InvalidOffer,
    OfferExpired,
    PriceChanged,
    SoldOut,
)
from domain.reference import ReferenceData
from domain.search.itineraries import Itinerary, Leg
from domain.search.models import Passengers
from domain.search.pricing import Price, PriceBook
from domain.search.tokens import Signer, TamperedToken

# Online sales close this long before departure (check-in and boarding take over).
SALES_CLOSE_BEFORE_DEPARTURE = timedelta(minutes=45)
_CABINS = ("economy", "premium_economy", "business", "first")


@dataclass(frozen=True, slots=True)
class OfferTerms:
    """What a verified offer id says."""

    slices: tuple[tuple[int, ...], ...]
    cabin: str
    brand: str
    adults: int
    children: int
    infants: int
    total_minor: int
    currency: str
    expires_at: datetime

    @property
    def flight_ids(self) -> list[int]:
        return [leg for legs in self.slices for leg in legs]

    @property
    def seated(self) -> int:
        return self.adults + self.children


def read_offer(signer: Signer, offer_id: str, now: datetime) -> OfferTerms:
    try:
        payload: Any = signer.verify(offer_id)
        slices = tuple(tuple(int(leg) for leg in legs) for legs in payload["l"])
        adults, children, infants = (int(n) for n in payload["p"])
        terms = OfferTerms(
            slices,
            str(payload["c"]),
            str(payload["b"]),
            adults,
            children,
            infants,
            int(payload["t"]),
            str(payload["$"]),
            datetime.fromtimestamp(int(payload["x"]), now.tzinfo),
        )
    except (TamperedToken, KeyError, TypeError, ValueError):
        raise InvalidOffer() from None
    if not terms.slices or not all(terms.slices) or terms.cabin not in _CABINS:
        raise InvalidOffer()
    if terms.expires_at <= now:
        raise OfferExpired("Search again for current offers.", expired_at=terms.expires_at)
    return terms


# Locks each leg's cabin row in flight-id order (one order for every writer, so two
# bookings sharing legs cannot deadlock), takes the seats where enough are left, and
# reads what pricing needs: one round trip. Should a later check fail (price, status),
# the caller's transaction rolls the taken seats back.
_LOCK_AND_TAKE = """
WITH locked AS (
    SELECT flight_id, capacity - seats_sold AS seats FROM flight_cabins
    WHERE flight_id = ANY($1::bigint[]) AND cabin = $2
    ORDER BY flight_id
    FOR UPDATE
), taken AS (
    UPDATE flight_cabins c SET seats_sold = c.seats_sold + $3
    FROM locked l
    WHERE c.flight_id = l.flight_id AND c.cabin = $2 AND l.seats >= $3
    RETURNING c.flight_id
)
SELECT f.id, f.carrier, f.flight_number, f.origin, f.destination, f.scheduled_departure,
       f.scheduled_arrival, f.aircraft_type, f.status, l.seats, c.base_fare_minor, c.currency,
       t.flight_id IS NOT NULL AS taken
FROM locked l
JOIN flight_cabins c ON c.flight_id = l.flight_id AND c.cabin = $2
JOIN flights f ON f.id = l.flight_id
LEFT JOIN taken t ON t.flight_id = l.flight_id
ORDER BY f.id
"""


@dataclass(frozen=True, slots=True)
class PricedLegs:
    legs: dict[int, Leg]
    price: Price


async def lock_and_price(
    conn: asyncpg.Connection, terms: OfferTerms, ref: ReferenceData, now: datetime
) -> PricedLegs:
    """Lock the offer's inventory, take the seats, and check it can still be sold at the
    offered price. Must run inside the booking's transaction."""
    rows = await conn.fetch(_LOCK_AND_TAKE, terms.flight_ids, terms.cabin, terms.seated)
    legs: dict[int, Leg] = {}
    for row in rows:
        if row["status"] != "scheduled" or row["scheduled_departure"] - now < (
            SALES_CLOSE_BEFORE_DEPARTURE
        ):
            raise FlightNotBookable(
                "Sales for this flight have closed.", flight_id=row["id"], status=row["status"]
            )
        legs[row["id"]] = Leg(
            row["id"], row["carrier"].strip(), row["flight_number"], row["origin"],
            row["destination"], row["scheduled_departure"], row["scheduled_arrival"],
            row["aircraft_type"], row["seats"], row["base_fare_minor"], row["currency"],
        )  # fmt: skip
    if len(legs) != len(set(terms.flight_ids)):
        raise FlightNotBookable("A flight of the offer no longer exists.")
    short = [row["id"] for row in rows if not row["taken"]]
    if short:
        raise SoldOut("Not enough seats left in this cabin.", flight_ids=short)
    price = _price(terms, legs, ref)
    if price.total != terms.total_minor:
        raise PriceChanged(
            "Search again to see the current price.",
            offered={"amount_minor": terms.total_minor, "currency": terms.currency},
            current={"amount_minor": price.total, "currency": terms.currency},
        )
    return PricedLegs(legs, price)


def _price(terms: OfferTerms, legs: dict[int, Leg], ref: ReferenceData) -> Price:
    itineraries: Sequence[Itinerary] = [
        Itinerary(tuple(legs[leg] for leg in slice_legs)) for slice_legs in terms.slices
    ]
    try:
        book = PriceBook(
            ref,
            terms.cabin,
            Passengers(adults=terms.adults, children=terms.children, infants=terms.infants),
            terms.currency,
        )
        return book.itineraries(itineraries, terms.brand)
    except (KeyError, ValueError):
        # The brand was withdrawn, or the currency lost its rate, since the search.
        raise FlightNotBookable("The fare of this offer is no longer sold.") from None
