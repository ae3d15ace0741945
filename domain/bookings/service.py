"""Creating a booking: offer to paid, ticketed booking in one transaction.

Order of work inside the transaction (each step can still fail and roll all back):

1. claim the Idempotency-Key (a racing retry waits here for this attempt's outcome);
2. lock the offer's cabin rows in flight order, re-price, take the seats;
3. write the booking, passengers, segments, and claim the chosen seats;
4. charge the card through the payment provider (the last step that can fail for
   business reasons, so a decline leaves nothing to undo but the transaction);
5. record the payment, issue the tickets, store the response under the key; commit.

If anything fails after a successful charge, the charge is voided by its key.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from domain.bookings.cancellations import cancel_booking, quote_cancellation
from domain.bookings.emds import SeatSale, issue_seat_emds
from domain.bookings.errors import (
    PaymentDeclined,
    PaymentMethodNotFound,
    PaymentProviderUnavailable,
)
from domain.bookings.fares import fare_record
from domain.bookings.idempotency import idempotent_request
from domain.bookings.models import (
    Booking,
    BookingPage,
    BookingRequest,
    CardPayment,
    Payment,
    SeatRequest,
)
from domain.bookings.offers import OfferTerms, PricedLegs, lock_and_price, read_offer
from domain.bookings.passengers import (
    barred_from_exits,
    check_ages,
    check_mix,
    check_seat_requests,
    escorts,
)
from domain.bookings.payments import Card, Charge, Declined, PaymentProvider, ProviderTimeout
from domain.bookings.queries import HistoryView, get_booking, list_bookings, load_booking
from domain.bookings.quotes import Confirmer, Quote
from domain.cards import CardDetails, CardVault, InvalidCard, Sealed
from domain.identity.tokens import Claims
from domain.notifications.enqueue import TripMail
from domain.profiles import ensure_profile
from domain.reference import ReferenceCache, ReferenceData
from domain.search.tokens import Signer
from domain.seating import claim_seats
from domain.ticketing import record_locator, ticket_number
from domain.times import local_date
from foundation.errors import FieldError, ValidationFailed

log = logging.getLogger(__name__)

CREATE_OPERATION = "booking.create"


# Booking, passengers and segments in one round trip, with a ticket serial per passenger
# and the validating (first) carrier's accounting code. Nothing is inserted when the
# record locator is taken (ON CONFLICT DO NOTHING leaves the other CTEs no booking).
_INSERT_BOOKING = """
WITH booking AS (
    INSERT INTO bookings (record_locator, user_id, total_minor, currency, contact_email,
                          contact_phone, fare)
    VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (record_locator) DO NOTHING
    RETURNING id
), people AS (
    INSERT INTO passengers (booking_id, passenger_no, passenger_type, given_name, family_name,
                            date_of_birth, email, phone, accompanied_by)
    SELECT booking.id, n, t, g, f, d, e, p, a
    FROM booking, unnest($8::int[], $9::text[], $10::text[], $11::text[], $12::date[],
                         $13::text[], $14::text[], $21::int[]) AS x(n, t, g, f, d, e, p, a)
    RETURNING id, passenger_no
), legs AS (
    -- Classes stamped here, from the brand row at hand, so the trigger need not look it up.
    INSERT INTO booking_segments (booking_id, segment_no, slice_no, flight_id, cabin, fare_brand,
                                  booking_class, fare_basis)
    SELECT booking.id, n, s, f, $18, fb.code, booking_class_of($18, fb.name),
           fare_basis_of(booking_class_of($18, fb.name), fb.name)
    FROM booking, unnest($15::int[], $16::int[], $17::bigint[]) AS x(n, s, f)
    JOIN flights fl ON fl.id = x.f
    JOIN fare_brands fb ON fb.carrier = fl.carrier AND fb.cabin = $18 AND fb.name = $19
)
SELECT booking.id,
       array_agg(people.id ORDER BY people.passenger_no) AS passenger_ids,
       array_agg(nextval('ticket_serial_seq') ORDER BY people.passenger_no) AS serials,
       (SELECT ticket_prefix FROM airlines WHERE code = $20) AS ticket_prefix
FROM booking, people
GROUP BY booking.id
"""

# The captured charge and the tickets, numbered in Python from the serials above.
_RECORD_SALE = """
WITH payment AS (
    INSERT INTO payments (booking_id, kind, amount_minor, currency, status, provider,
                          provider_ref, card_brand, card_last4, reason, payment_method_id)
    VALUES ($1, 'charge', $2, $3, 'succeeded', $4, $5, $6, $7, 'purchase', $8)
)
INSERT INTO tickets (ticket_number, booking_id, passenger_id)
SELECT n, $1, p FROM unnest($9::text[], $10::uuid[]) AS x(n, p)
"""


@dataclass(frozen=True, slots=True)
class Written:
    booking_id: uuid.UUID
    seats_minor: int
    passenger_ids: list[uuid.UUID]
    ticket_numbers: list[str]


@dataclass(frozen=True, slots=True)
class BookingResult:
    status: int
    booking_id: str
    body: bytes
    """The response as JSON, serialised once for the client and the idempotency record."""
    replayed: bool


class BookingService:
    """A traveller's bookings: made, read, listed and cancelled."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        reference: ReferenceCache,
        offers: Signer,
        provider: PaymentProvider,
        vault: CardVault,
        mail: TripMail | None = None,
    ) -> None:
        self.pool = pool
        self.reference = reference
        self.offers = offers
        self.provider = provider
        self.vault = vault
        # Confirmation mail and reminders, queued in the booking's own transaction.
        self.mail = mail or TripMail(enabled=False)

    # Payment cards -------------------------------------------------------------------

    async def card_for(self, user_id: uuid.UUID, payment: Payment) -> Card:
        if isinstance(payment, CardPayment):
            details = CardDetails(payment.number, payment.exp_month, payment.exp_year,
                                  payment.cvc, payment.holder_name)  # fmt: skip
            try:
                details.validate()
            except InvalidCard as exc:
                raise ValidationFailed(
                    [FieldError(f"payment.{exc.field}", str(exc), "invalid_card")]
                ) from None
            return Card(details.number, details.exp_month, details.exp_year, details.holder_name)
        row = await self.pool.fetchrow(
            """SELECT exp_month, exp_year, key_version, nonce, ciphertext
               FROM payment_methods WHERE id = $1 AND user_id = $2""",
            payment.payment_method_id,
            user_id,
        )
        if row is None:
            raise PaymentMethodNotFound()
        secret = self.vault.open(
            user_id, Sealed(row["key_version"], row["nonce"], row["ciphertext"])
        )
        return Card(secret["number"], row["exp_month"], row["exp_year"], secret["holder_name"])

    # Reading -------------------------------------------------------------------------

    async def get(
        self, booking_id: uuid.UUID, viewer: uuid.UUID, roles: Collection[str]
    ) -> Booking:
        """The booking if the viewer owns it or is staff; BookingNotFound otherwise."""
        return await get_booking(self.pool, booking_id, viewer, roles)

    async def history(
        self, user_id: uuid.UUID, view: HistoryView, limit: int, cursor: str | None = None
    ) -> BookingPage:
        """The user's bookings in one view, a page at a time."""
        return await list_bookings(self.pool, user_id, view, limit, cursor)

    # Creating ------------------------------------------------------------------------

    async def book(
        self, user: Claims, request: BookingRequest, idempotency_key: str | None
    ) -> BookingResult:
        """``create`` for a signed-in user, whose profile is made on first use: a booking
        belongs to a profile."""
        await ensure_profile(self.pool, user.user_id, user.email, user.app_roles)
        return await self.create(user.user_id, request, idempotency_key)

    async def create(
        self,
        user_id: uuid.UUID,
        request: BookingRequest,
        idempotency_key: str | None,
        *,
        now: datetime | None = None,
    ) -> BookingResult:
        now = now or datetime.now(UTC)
        idempotent = idempotent_request(
            user_id, CREATE_OPERATION, idempotency_key, request.model_dump(mode="json")
        )
        terms = read_offer(self.offers, request.offer_id, now)
        check_mix(request.passengers, terms)
        check_seat_requests(request.seats, request.passengers, terms)
        escorts(request.passengers)
        card = await self.card_for(user_id, request.payment)
        ref = await self.reference.get()
        charged = False
        async with self.pool.acquire() as conn:
            try:
                async with conn.transaction():
                    replay = await idempotent.claim(conn)
                    if replay is not None:
                        return BookingResult(
                            replay.status, replay.response["id"], orjson.dumps(replay.response),
                            True,
                        )  # fmt: skip
                    priced = await lock_and_price(conn, terms, ref, now)
                    written = await self._write(conn, user_id, request, terms, priced, ref)
                    total = priced.price.total + written.seats_minor
                    charge = await self._charge(card, total, terms.currency,
                                                idempotent.provider_key)  # fmt: skip
                    charged = True
                    await conn.execute(
                        _RECORD_SALE,
                        written.booking_id, total, terms.currency, self.provider.name,
                        charge.ref, card.brand, card.last4,
                        getattr(request.payment, "payment_method_id", None),
                        written.ticket_numbers, written.passenger_ids,
                    )  # fmt: skip
                    booking_id = written.booking_id
                    await self.mail.booking_confirmed(conn, booking_id)
                    booking = await load_booking(conn, booking_id)
                    body = booking.__pydantic_serializer__.to_json(booking)
                    await idempotent.complete(conn, 201, body)
            except BaseException:
                if charged:
                    log.warning("booking failed after the charge; voiding it")
                    await self.provider.void(idempotent.provider_key)
                raise
        self.mail.wake()
        return BookingResult(201, str(booking_id), body, False)

    # Cancelling ----------------------------------------------------------------------

    async def quote_cancellation(
        self,
        booking_id: uuid.UUID,
        viewer: uuid.UUID,
        roles: Collection[str],
        *,
        now: datetime | None = None,
    ) -> Quote:
        """The refund and fees of cancelling now, under the fare's rules."""
        return await quote_cancellation(self.pool, booking_id, viewer, roles, now=now)

    async def cancel(
        self,
        booking_id: uuid.UUID,
        quote_id: uuid.UUID,
        viewer: uuid.UUID,
        roles: Collection[str],
        *,
        now: datetime | None = None,
        by: Confirmer | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Cancel as quoted, once whatever the retries: the booking, and whether this was
        a replay."""
        return await cancel_booking(self.pool, self.provider, booking_id, quote_id, viewer,
                                    roles, now=now, mail=self.mail, by=by)  # fmt: skip

    async def _charge(self, card: Card, amount: int, currency: str, key: str) -> Charge:
        try:
            return await self.provider.charge(card, amount, currency, key)
        except Declined as exc:
            raise PaymentDeclined(
                "The card was declined; nothing was booked or charged.", decline_code=exc.code
            ) from None
        except ProviderTimeout:
            # The charge may have gone through: void it, so a failed booking costs nothing.
            await self.provider.void(key)
            raise PaymentProviderUnavailable(
                "The payment provider did not answer; nothing was booked or charged.",
                retry_after=2,
            ) from None

    async def _write(
        self,
        conn: asyncpg.Connection,
        user_id: uuid.UUID,
        request: BookingRequest,
        terms: OfferTerms,
        priced: PricedLegs,
        ref: ReferenceData,
    ) -> Written:
        legs = [priced.legs[flight_id] for flight_id in terms.flight_ids]
        zones = ref.airports
        check_ages(
            request.passengers,
            [local_date(leg.departure, zones[leg.origin].time_zone) for leg in legs],
        )
        escort_of = escorts(request.passengers)
        price = priced.price
        fare = fare_record(price, terms, ref, priced.legs)
        segments = [
            (slice_no, flight_id)
            for slice_no, flights in enumerate(terms.slices, 1)
            for flight_id in flights
        ]
        people = request.passengers
        row = None
        while row is None:  # a locator collision (1 in ~10^8) inserts nothing: draw again
            row = await conn.fetchrow(
                _INSERT_BOOKING,
                record_locator(), user_id, price.total, terms.currency, request.contact.email,
                request.contact.phone, fare,
                list(range(1, len(people) + 1)), [p.type for p in people],
                [p.given_name for p in people], [p.family_name for p in people],
                [p.date_of_birth for p in people], [p.email for p in people],
                [p.phone for p in people],
                list(range(1, len(segments) + 1)), [s for s, _ in segments],
                [f for _, f in segments], terms.cabin, terms.brand, legs[0].carrier,
                [None if a is None else a + 1 for a in escort_of],
            )  # fmt: skip
        booking_id = row["id"]
        passenger_ids: list[uuid.UUID] = row["passenger_ids"]
        numbers = [ticket_number(row["ticket_prefix"], serial) for serial in row["serials"]]
        barred = barred_from_exits([p.type for p in people], escort_of)
        sales = await self._claim_seats(
            conn, user_id, booking_id, request.seats, passenger_ids, terms, priced, ref,
            {passenger_ids[i] for i in barred},
        )  # fmt: skip
        await issue_seat_emds(conn, booking_id, terms.currency, sales)
        seats_minor = sum(sale.amount_minor for sale in sales)
        if seats_minor:
            fare["seats_minor"] = seats_minor
            await conn.execute(
                "UPDATE bookings SET total_minor = total_minor + $2, fare = $3 WHERE id = $1",
                booking_id, seats_minor, fare,
            )  # fmt: skip
        return Written(booking_id, seats_minor, passenger_ids, numbers)

    async def _claim_seats(
        self,
        conn: asyncpg.Connection,
        user_id: uuid.UUID,
        booking_id: uuid.UUID,
        seats: Sequence[SeatRequest],
        passenger_ids: Sequence[uuid.UUID],
        terms: OfferTerms,
        priced: PricedLegs,
        ref: ReferenceData,
        barred_from_exits: Collection[uuid.UUID],
    ) -> list[SeatSale]:
        """Each chosen seat claimed, with its price in the selling currency."""
        by_flight: dict[int, list[tuple[str, uuid.UUID]]] = defaultdict(list)
        fields: dict[int, list[str]] = defaultdict(list)
        for index, request in enumerate(seats):
            by_flight[request.flight_id].append((request.seat, passenger_ids[request.passenger]))
            fields[request.flight_id].append(f"seats[{index}].seat")
        sales = []
        for flight_id in sorted(by_flight):  # the same order as the inventory locks
            prices = await claim_seats(
                conn, user_id=user_id, flight_id=flight_id, cabin=terms.cabin,
                booking_id=booking_id, assignments=by_flight[flight_id],
                fields=fields[flight_id], barred_from_exits=barred_from_exits,
            )  # fmt: skip
            currency = priced.legs[flight_id].currency
            sales += [
                SeatSale(passenger, flight_id, seat,
                         ref.convert(prices[seat], currency, terms.currency))
                for seat, passenger in by_flight[flight_id]
            ]  # fmt: skip
        return sales


async def issue_tickets(conn: asyncpg.Connection, booking_id: uuid.UUID) -> list[str]:
    """One ticket per passenger without an open one, numbered under the validating
    (first) carrier's accounting code."""
    rows = await conn.fetch(
        """SELECT p.id, a.ticket_prefix, nextval('ticket_serial_seq') AS serial
           FROM passengers p
           JOIN booking_segments s ON s.booking_id = p.booking_id AND s.segment_no = 1
           JOIN flights f ON f.id = s.flight_id
           JOIN airlines a ON a.code = f.carrier
           WHERE p.booking_id = $1
             AND NOT EXISTS (SELECT 1 FROM tickets t
                             WHERE t.passenger_id = p.id AND t.status = 'open')
           ORDER BY p.passenger_no""",
        booking_id,
    )
    numbers = [ticket_number(r["ticket_prefix"], r["serial"]) for r in rows]
    await conn.execute(
        """INSERT INTO tickets (ticket_number, booking_id, passenger_id)
           SELECT n, $1, p FROM unnest($2::text[], $3::uuid[]) AS x(n, p)""",
        booking_id, numbers, [r["id"] for r in rows],
    )  # fmt: skip
    return numbers


async def insert_segments(
    conn: asyncpg.Connection, booking_id: uuid.UUID, terms: OfferTerms
) -> None:
    """The offer's legs as the booking's segments, in travel order."""
    segments = [
        (slice_no, flight_id)
        for slice_no, flights in enumerate(terms.slices, 1)
        for flight_id in flights
    ]
    await conn.execute(
        """INSERT INTO booking_segments (booking_id, segment_no, slice_no, flight_id, cabin,
                                         fare_brand)
           SELECT $1, n, s, f, $5, fb.code
           FROM unnest($2::int[], $3::int[], $4::bigint[]) AS x(n, s, f)
           JOIN flights fl ON fl.id = x.f
           JOIN fare_brands fb ON fb.carrier = fl.carrier AND fb.cabin = $5 AND fb.name = $6""",
        booking_id,
        list(range(1, len(segments) + 1)),
        [s for s, _ in segments],
        [f for _, f in segments],
        terms.cabin,
        terms.brand,
    )
