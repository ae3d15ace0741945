"""What an e-ticket receipt shows, read from the booking tables.

One receipt per live ticket (one per passenger): the booking's record locator,
the passenger as named on their passport, every segment in travel order with
that passenger's seat, the fare paid and the fare conditions of each brand. A receipt
is not a boarding pass: those are issued at check-in (domain/checkin/).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg

from domain.times import zone

# Tickets a receipt is shown for: void, refunded and exchanged ones (after a
# reissue, a cancellation) no longer entitle anyone to travel.
LIVE_TICKET_STATUSES = ("open", "used")

# ISO 4217 exponents that are not 2, for currencies exchange_rates does not list.
_MINOR_DIGITS = {
    "BHD": 3, "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3,
    "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0,
    "TND": 3, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
}  # fmt: skip


def minor_digits(currency: str) -> int:
    return _MINOR_DIGITS.get(currency, 2)


def format_money(amount_minor: int, currency: str, digits: int | None = None) -> str:
    """``USD 1,234.50``, ``JPY 98,000``: minor units shown with the currency's exponent."""
    digits = minor_digits(currency) if digits is None else digits
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 10**digits)
    text = f"{major:,}" + (f".{minor:0{digits}d}" if digits else "")
    return f"{currency} {sign}{text}"


@dataclass(frozen=True, slots=True)
class Place:
    iata: str
    city: str
    name: str
    terminal: str | None = None


@dataclass(frozen=True, slots=True)
class FareConditions:
    """A fare brand's rules; fees are in the carrier's currency."""

    brand: str
    cabin: str
    refundable: bool
    changeable: bool
    change_fee_minor: int
    cancellation_fee_minor: int
    checked_bags: int
    fee_currency: str


@dataclass(frozen=True, slots=True)
class ReceiptSegment:
    segment_no: int
    carrier: str
    carrier_name: str
    flight_number: int
    service_date: date
    origin: Place
    destination: Place
    departure: datetime  # local time at the origin, with its offset
    arrival: datetime  # local time at the destination
    cabin: str
    conditions: FareConditions
    seat: str | None
    booking_class: str = ""
    fare_basis: str = ""
    # Sold under the validating carrier's code on a partner's leg: that designator.
    marketed_as: str | None = None

    @property
    def baggage(self) -> str:
        """The free checked allowance in the piece concept: '1PC 23KG', '2PC 32KG'."""
        pieces = self.conditions.checked_bags
        if not pieces:
            return "0PC"
        heavy = self.cabin in ("business", "first")
        return f"{pieces}PC {32 if heavy else 23}KG"

    @property
    def designator(self) -> str:
        return f"{self.carrier}{self.flight_number}"


@dataclass(frozen=True, slots=True)
class ReceiptEmd:
    """A paid service of the passenger's, on its own document."""

    emd_number: str
    description: str
    amount_minor: int
    status: str


@dataclass(frozen=True, slots=True)
class TicketReceipt:
    ticket_number: str
    booking_id: uuid.UUID
    record_locator: str
    issued_at: datetime
    issuing_airline: str
    passenger_no: int
    passenger_type: str
    given_name: str
    family_name: str
    segments: tuple[ReceiptSegment, ...]
    total_minor: int
    currency: str
    currency_digits: int
    passengers_on_booking: int
    # This passenger's base fare and taxes (the booking's recorded fare line for the
    # passenger's type); None on bookings made before taxes were itemised.
    ticket_amounts: dict[str, Any] | None = None
    # How the booking was paid, as the receipt prints it: 'CC VISA 4242'; None if unknown.
    form_of_payment: str | None = None
    emds: tuple[ReceiptEmd, ...] = ()

    @property
    def total(self) -> str:
        return self.money(self.total_minor)

    def money(self, amount_minor: int) -> str:
        return format_money(amount_minor, self.currency, self.currency_digits)

    @property
    def conditions(self) -> tuple[FareConditions, ...]:
        """Each brand of the itinerary once, in travel order."""
        return tuple(dict.fromkeys(segment.conditions for segment in self.segments))


# One row per (ticket, segment): the joins are all to single rows, except
# segments, and one statement reads every table from the same snapshot.
_RECEIPTS = """
SELECT t.ticket_number, t.issued_at, b.id AS booking_id, b.record_locator, b.total_minor,
       b.currency, x.minor_digits,
       (SELECT line FROM jsonb_array_elements(b.fare -> 'lines') AS line
         WHERE line ->> 'passenger_type' = p.passenger_type) AS ticket_amounts,
       (SELECT count(*) FROM passengers WHERE booking_id = b.id) AS passengers_on_booking,
       (SELECT 'CC ' || upper(pay.card_brand) || ' ' || pay.card_last4 FROM payments pay
         WHERE pay.booking_id = b.id AND pay.kind = 'charge' AND pay.status = 'succeeded'
           AND pay.card_last4 IS NOT NULL
         ORDER BY pay.created_at LIMIT 1) AS form_of_payment,
       (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'emd_number', e.emd_number, 'description', e.description,
                   'amount_minor', e.amount_minor, 'status', e.status)
               ORDER BY e.issued_at, e.emd_number), '[]')
          FROM emds e WHERE e.passenger_id = p.id) AS emds,
       coalesce(issuer.name, carrier.name) AS issuing_airline,
       p.id AS passenger_id, p.passenger_no, p.passenger_type, p.given_name, p.family_name,
       s.segment_no, s.cabin, s.booking_class, s.fare_basis, f.carrier,
       carrier.name AS carrier_name,
       carrier.currency AS carrier_currency, f.flight_number, f.service_date,
       f.scheduled_departure, f.scheduled_arrival, f.departure_terminal, f.arrival_terminal,
       (SELECT rtrim(c.marketing_carrier) || c.marketing_number FROM codeshares c
         WHERE c.flight_id = f.id AND c.marketing_carrier = (
             SELECT f1.carrier FROM booking_segments s1 JOIN flights f1 ON f1.id = s1.flight_id
              WHERE s1.booking_id = b.id ORDER BY s1.segment_no LIMIT 1)) AS marketed_as,
       f.origin, o.city AS origin_city, o.name AS origin_name, o.time_zone AS origin_zone,
       f.destination, d.city AS destination_city, d.name AS destination_name,
       d.time_zone AS destination_zone,
       brand.name AS brand_name, brand.refundable, brand.changeable, brand.change_fee_minor,
       brand.cancellation_fee_minor, brand.checked_bags,
       seat.seat
FROM tickets t
JOIN bookings b ON b.id = t.booking_id
JOIN passengers p ON p.id = t.passenger_id
JOIN booking_segments s ON s.booking_id = b.id
JOIN flights f ON f.id = s.flight_id
JOIN airlines carrier ON carrier.code = f.carrier
JOIN airports o ON o.iata = f.origin
JOIN airports d ON d.iata = f.destination
JOIN fare_brands brand ON brand.code = s.fare_brand
LEFT JOIN airlines issuer ON issuer.ticket_prefix = left(t.ticket_number, 3)
LEFT JOIN exchange_rates x ON x.currency = b.currency
LEFT JOIN seat_assignments seat ON seat.flight_id = s.flight_id AND seat.passenger_id = p.id
WHERE t.booking_id = ANY($1::uuid[])
  AND t.status = ANY($2::text[])
  AND ($3::text IS NULL OR t.ticket_number = $3)
ORDER BY b.id, p.passenger_no, t.ticket_number, s.segment_no
"""


def _segment(row: asyncpg.Record) -> ReceiptSegment:
    conditions = FareConditions(
        brand=row["brand_name"],
        cabin=row["cabin"],
        refundable=row["refundable"],
        changeable=row["changeable"],
        change_fee_minor=row["change_fee_minor"],
        cancellation_fee_minor=row["cancellation_fee_minor"],
        checked_bags=row["checked_bags"],
        fee_currency=row["carrier_currency"],
    )
    return ReceiptSegment(
        segment_no=row["segment_no"],
        carrier=row["carrier"],
        carrier_name=row["carrier_name"],
        flight_number=row["flight_number"],
        service_date=row["service_date"],
        origin=Place(
            row["origin"], row["origin_city"], row["origin_name"], row["departure_terminal"]
        ),
        destination=Place(
            row["destination"],
            row["destination_city"],
            row["destination_name"],
            row["arrival_terminal"],
        ),
        marketed_as=row["marketed_as"],
        departure=row["scheduled_departure"].astimezone(zone(row["origin_zone"])),
        arrival=row["scheduled_arrival"].astimezone(zone(row["destination_zone"])),
        cabin=row["cabin"],
        conditions=conditions,
        seat=row["seat"],
        booking_class=row["booking_class"],
        fare_basis=row["fare_basis"],
    )


async def load_receipts(
    conn: asyncpg.Connection | asyncpg.Pool,
    booking_id: uuid.UUID,
    *,
    ticket_number: str | None = None,
) -> list[TicketReceipt]:
    """The receipts of a booking's live tickets, by passenger number (or only one ticket's).

    A booking without segments has nothing to receive and gives no receipts.
    """
    return await load_receipts_of(conn, [booking_id], ticket_number=ticket_number)


async def load_receipts_of(
    conn: asyncpg.Connection | asyncpg.Pool,
    booking_ids: Sequence[uuid.UUID],
    *,
    ticket_number: str | None = None,
) -> list[TicketReceipt]:
    """``load_receipts`` for several bookings in one round trip (offline sync)."""
    rows = await conn.fetch(_RECEIPTS, list(booking_ids), list(LIVE_TICKET_STATUSES), ticket_number)
    by_ticket: dict[str, list[asyncpg.Record]] = {}
    for row in rows:
        by_ticket.setdefault(row["ticket_number"], []).append(row)
    receipts = []
    for number, ticket_rows in by_ticket.items():
        first = ticket_rows[0]
        digits = first["minor_digits"]
        receipts.append(
            TicketReceipt(
                ticket_number=number,
                booking_id=first["booking_id"],
                record_locator=first["record_locator"],
                issued_at=first["issued_at"],
                issuing_airline=first["issuing_airline"],
                passenger_no=first["passenger_no"],
                passenger_type=first["passenger_type"],
                given_name=first["given_name"],
                family_name=first["family_name"],
                segments=tuple(_segment(row) for row in ticket_rows),
                total_minor=first["total_minor"],
                currency=first["currency"],
                currency_digits=minor_digits(first["currency"]) if digits is None else digits,
                passengers_on_booking=first["passengers_on_booking"],
                ticket_amounts=first["ticket_amounts"],
                form_of_payment=first["form_of_payment"],
                emds=tuple(ReceiptEmd(**e) for e in first["emds"]),
            )
        )
    return receipts
