"""Changing a booking: another flight on the same route, other seats, or contact details.

Each change is quoted first and confirmed with the quote id, exactly once.

- Flight: to another offer for the same route and passengers. The traveller pays
  the fare difference plus the brand's change fee per passenger; a cheaper new
  fare is refunded only on a refundable fare. A booking with a flight the airline
  cancelled changes for free. Tickets are exchanged for new ones; chosen seats
  do not carry over to the new flights.
- Seats: the price of the new seat less that of the old one, when positive.
- Contact details: free.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
from pydantic import ConfigDict, Field

from domain.bookings import examples
from domain.bookings.cancellations import release_inventory
from domain.bookings.emds import SeatSale, exchange_seat_emds, issue_seat_emds
from domain.bookings.errors import (
    AlreadyCancelled,
    AlreadyFlown,
    BookingNotChangeable,
    BookingNotFound,
    PaymentDeclined,
    PaymentProviderUnavailable,
)
from domain.bookings.fares import fare_record
from domain.bookings.models import MAX_PASSENGERS, Contact, Email, Payment, Phone, SeatRequest
from domain.bookings.money import record_charge, refund
from domain.bookings.offers import lock_and_price, read_offer
from domain.bookings.passengers import barred_from_exits
from domain.bookings.payments import Declined, ProviderTimeout, provider_key
from domain.bookings.queries import BOOKING_STATE, check_visible, load_booking, may_read
from domain.bookings.quotes import Confirmer, LockedQuote, Quote, confirm_quote, create_quote
from domain.bookings.service import BookingService, insert_segments, issue_tickets
from domain.documents import forget_documents
from domain.seating import check_exit_rows, claim_seats, flight_layout
from foundation.errors import FieldError, ValidationFailed
from foundation.models import StrictModel


class FlightChange(StrictModel):
    type: Literal["flight"]
    offer_id: Annotated[str, Field(min_length=1, max_length=4096)]


class SeatChange(StrictModel):
    type: Literal["seats"]
    seats: Annotated[list[SeatRequest], Field(min_length=1, max_length=54)]


class PassengerContact(StrictModel):
    passenger: int = Field(
        ge=0, lt=MAX_PASSENGERS, description="Index into the booking's passengers."
    )
    email: Email | None = None
    phone: Phone | None = None


class ContactChange(StrictModel):
    type: Literal["contact"]
    contact: Contact | None = None
    passengers: Annotated[list[PassengerContact], Field(max_length=MAX_PASSENGERS)] = []


ChangeRequest = Annotated[FlightChange | SeatChange | ContactChange, Field(discriminator="type")]


class ChangeQuoteRequest(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CHANGE_QUOTE_REQUEST]})

    change: ChangeRequest


class ChangeConfirmation(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CHANGE_CONFIRMATION]})

    quote_id: uuid.UUID
    payment: Payment | None = Field(
        default=None, description="Required when the quote charges the traveller."
    )


def _barred_from_exits(state: asyncpg.Record) -> set[int]:
    escorts = [None if n is None else n - 1 for n in state["passenger_escorts"] or ()]
    return barred_from_exits(state["passenger_types"] or (), escorts)


def _check_open(state: asyncpg.Record, now: datetime) -> None:
    if state["status"] == "cancelled":
        raise AlreadyCancelled("A cancelled booking cannot be changed.")
    if state["first_departure"] <= now:
        raise AlreadyFlown("A booking can be changed until its first flight leaves.")


class ChangeService:
    def __init__(self, bookings: BookingService) -> None:
        self.bookings = bookings
        self.pool = bookings.pool

    async def _state(
        self, booking_id: uuid.UUID, viewer: uuid.UUID, roles: Collection[str]
    ) -> asyncpg.Record:
        state = await self.pool.fetchrow(BOOKING_STATE, booking_id)
        if state is None or not may_read(state["user_id"], viewer, roles):
            raise BookingNotFound()
        return state

    # Quotes ----------------------------------------------------------------------------

    async def quote(
        self,
        booking_id: uuid.UUID,
        request: ChangeRequest,
        viewer: uuid.UUID,
        roles: Collection[str],
        *,
        now: datetime | None = None,
    ) -> Quote:
        now = now or datetime.now(UTC)
        state = await self._state(booking_id, viewer, roles)
        _check_open(state, now)
        if isinstance(request, FlightChange):
            details = await self._quote_flight(state, request, now)
        elif isinstance(request, SeatChange):
            details = await self._quote_seats(state, request)
        else:
            details = _quote_contact(state, request)
        return await create_quote(
            self.pool, booking_id, state["version"], "change", details, state["currency"], now
        )

    async def _quote_flight(
        self, state: asyncpg.Record, request: FlightChange, now: datetime
    ) -> dict[str, Any]:
        fare: dict[str, Any] = state["fare"]
        waived = bool(state["airline_cancelled"])
        if "fare_minor" not in fare or (not fare.get("changeable") and not waived):
            raise BookingNotChangeable("This fare does not allow flight changes.")
        terms = read_offer(self.bookings.offers, request.offer_id, now)
        types: list[str] = state["passenger_types"]
        if (terms.adults, terms.children, terms.infants) != (
            types.count("adult"), types.count("child"), types.count("infant"),
        ):  # fmt: skip
            raise _field("change.offer_id", "The offer is for other passengers.")
        if terms.currency != state["currency"]:
            raise _field("change.offer_id", f"Search in {state['currency']}.")
        routes = [(s["origin"], s["destination"]) for s in state["slices"]]
        if routes != await self._offer_route(terms.slices):
            raise _field("change.offer_id", "The offer is for another route.")
        difference = terms.total_minor - fare["fare_minor"]
        fee = 0 if waived else fare.get("change_fee_minor", 0) * len(types)
        charge = max(difference, 0) + fee
        refund_minor = -difference if difference < 0 and fare.get("refundable") else 0
        return {
            "type": "flight", "offer_id": request.offer_id, "new_fare_minor": terms.total_minor,
            "fare_difference_minor": difference, "fee_minor": fee, "charge_minor": charge,
            "refund_minor": refund_minor, "fee_waived": waived,
        }  # fmt: skip

    async def _offer_route(self, slices: Sequence[Sequence[int]]) -> list[tuple[str, str]]:
        rows = await self.pool.fetch(
            "SELECT id, origin, destination FROM flights WHERE id = ANY($1::bigint[])",
            [leg for legs in slices for leg in legs],
        )
        places = {r["id"]: (r["origin"], r["destination"]) for r in rows}
        if len(places) != len({leg for legs in slices for leg in legs}):
            raise _field("change.offer_id", "A flight of the offer no longer exists.")
        return [(places[legs[0]][0], places[legs[-1]][1]) for legs in slices]

    async def _quote_seats(self, state: asyncpg.Record, request: SeatChange) -> dict[str, Any]:
        segments = {s["flight_id"]: s["cabin"] for s in state["segments"]}
        types: list[str] = state["passenger_types"]
        errors = []
        for index, seat in enumerate(request.seats):
            where = f"change.seats[{index}]"
            if seat.flight_id not in segments:
                errors.append(FieldError(f"{where}.flight_id", "Not a flight of the booking.",
                                         "unknown"))  # fmt: skip
            if seat.passenger >= len(types):
                errors.append(FieldError(f"{where}.passenger", "No such passenger.", "unknown"))
            elif types[seat.passenger] == "infant":
                errors.append(FieldError(f"{where}.passenger", "Infants have no seat.",
                                         "infant_seat"))  # fmt: skip
        if errors:
            raise ValidationFailed(errors)
        current = await self.pool.fetch(
            "SELECT flight_id, passenger_id, seat FROM seat_assignments WHERE booking_id = $1",
            state["id"],
        )
        old = {(r["flight_id"], r["passenger_id"]): r["seat"] for r in current}
        ref = await self.bookings.reference.get()
        layouts = {
            f: await flight_layout(self.pool, f) for f in {s.flight_id for s in request.seats}
        }
        barred = _barred_from_exits(state)
        for flight_id, layout in layouts.items():
            check_exit_rows(
                layout,
                [(seat.seat, seat.passenger not in barred, f"change.seats[{index}].seat")
                 for index, seat in enumerate(request.seats) if seat.flight_id == flight_id],
            )  # fmt: skip
        charge = 0
        moves = []
        for index, seat in enumerate(request.seats):
            layout = layouts[seat.flight_id]
            cabin = next((c for c in layout.cabins if c.cabin == segments[seat.flight_id]), None)
            new_place = cabin.characteristics(seat.seat) if cabin else None
            if cabin is None or new_place is None:
                raise _field(f"change.seats[{index}].seat", "No such seat in your cabin.")
            passenger_id = state["passenger_ids"][seat.passenger]
            previous = old.get((seat.flight_id, passenger_id))
            old_place = cabin.characteristics(previous) if previous else None
            difference = cabin.price(new_place) - (cabin.price(old_place) if old_place else 0)
            move_charge = ref.convert(max(difference, 0), cabin.currency, state["currency"])
            charge += move_charge
            moves.append({"flight_id": seat.flight_id, "passenger": seat.passenger,
                          "from": previous, "to": seat.seat,
                          "charge_minor": move_charge})  # fmt: skip
        return {"type": "seats", "seats": moves, "charge_minor": charge, "refund_minor": 0,
                "fee_minor": 0}  # fmt: skip

    # Confirmation ----------------------------------------------------------------------

    async def confirm(
        self,
        booking_id: uuid.UUID,
        confirmation: ChangeConfirmation,
        viewer: uuid.UUID,
        roles: Collection[str],
        *,
        now: datetime | None = None,
        by: Confirmer | None = None,
    ) -> tuple[dict[str, Any], bool]:
        now = now or datetime.now(UTC)
        await check_visible(self.pool, booking_id, viewer, roles)
        provider = self.bookings.provider

        async def apply(conn: asyncpg.Connection, quote: LockedQuote) -> dict[str, Any]:
            state = await conn.fetchrow(BOOKING_STATE, booking_id)
            _check_open(state, now)
            details = quote.details
            if details["type"] == "flight":
                await self._apply_flight(conn, state, details, now)
            elif details["type"] == "seats":
                await self._apply_seats(conn, state, details)
            else:
                await _apply_contact(conn, state, details)
            charged = refunded = 0
            if details["charge_minor"] > 0:
                charged = await self._collect(conn, state, quote, confirmation)
            if details["refund_minor"] > 0:
                refunded = await refund(
                    conn, provider, booking_id, details["refund_minor"], quote.currency,
                    key=f"change:{quote.id}", reason=f"{details['type']} change",
                )  # fmt: skip
            await conn.execute(
                """SELECT record_change('booking.changed', 'booking', id::text, version,
                                        ARRAY['user:' || user_id],
                                        jsonb_build_object('booking_id', id, 'change', $2::text,
                                                           'quote_id', $3::text))
                   FROM bookings WHERE id = $1::uuid AND user_id IS NOT NULL""",
                booking_id, details["type"], str(quote.id),
            )  # fmt: skip
            if charged or refunded:
                await conn.execute(
                    "UPDATE bookings SET total_minor = total_minor + $2 - $3 WHERE id = $1",
                    booking_id, charged, refunded,
                )  # fmt: skip
            return (await load_booking(conn, booking_id)).model_dump(mode="json")

        return await confirm_quote(self.pool, booking_id, confirmation.quote_id, "change", apply,
                                   now=now, mail=self.bookings.mail,
                                   by=by or Confirmer(viewer))  # fmt: skip

    async def _collect(
        self,
        conn: asyncpg.Connection,
        state: asyncpg.Record,
        quote: LockedQuote,
        confirmation: ChangeConfirmation,
    ) -> int:
        if confirmation.payment is None:
            raise _field("payment", "This change costs money: send a payment.")
        amount = int(quote.details["charge_minor"])
        card = await self.bookings.card_for(state["user_id"], confirmation.payment)
        key = provider_key("change", str(quote.id))
        provider = self.bookings.provider
        try:
            charge = await provider.charge(card, amount, quote.currency, key)
        except Declined as exc:
            raise PaymentDeclined("The card was declined; nothing changed.",
                                  decline_code=exc.code) from None  # fmt: skip
        except ProviderTimeout:
            await provider.void(key)
            raise PaymentProviderUnavailable(
                "The payment provider did not answer; nothing changed.", retry_after=2
            ) from None
        try:
            await record_charge(
                conn, provider, state["id"], card, amount, quote.currency, charge.ref,
                f"{quote.details['type']} change",
                getattr(confirmation.payment, "payment_method_id", None),
            )  # fmt: skip
        except BaseException:
            await provider.void(key)
            raise
        return amount

    async def _apply_flight(
        self, conn: asyncpg.Connection, state: asyncpg.Record, details: dict[str, Any],
        now: datetime,
    ) -> None:  # fmt: skip
        terms = read_offer(self.bookings.offers, details["offer_id"], now)
        # Lock every cabin row involved, old and new, in one flight order.
        old = [(s["flight_id"], s["cabin"]) for s in state["segments"]]
        await conn.execute(
            """SELECT 1 FROM flight_cabins
               WHERE (flight_id = ANY($1::bigint[]) AND cabin = ANY($2::text[]))
                  OR (flight_id = ANY($3::bigint[]) AND cabin = $4)
               ORDER BY flight_id FOR UPDATE""",
            [f for f, _ in old], [c for _, c in old], terms.flight_ids, terms.cabin,
        )  # fmt: skip
        await release_inventory(conn, state["id"])
        await conn.execute("DELETE FROM booking_segments WHERE booking_id = $1", state["id"])
        ref = await self.bookings.reference.get()
        priced = await lock_and_price(conn, terms, ref, now)
        await insert_segments(conn, state["id"], terms)
        await conn.execute(
            "UPDATE tickets SET status = 'exchanged' WHERE booking_id = $1 AND status = 'open'",
            state["id"],
        )
        await issue_tickets(conn, state["id"])
        fare = {**state["fare"], **fare_record(priced.price, terms, ref, priced.legs)}
        await conn.execute("UPDATE bookings SET fare = $2 WHERE id = $1", state["id"], fare)

    async def _apply_seats(
        self, conn: asyncpg.Connection, state: asyncpg.Record, details: dict[str, Any]
    ) -> None:
        segments = {s["flight_id"]: s["cabin"] for s in state["segments"]}
        barred = {state["passenger_ids"][i] for i in _barred_from_exits(state)}
        for flight_id in sorted({m["flight_id"] for m in details["seats"]}):
            moves = [m for m in details["seats"] if m["flight_id"] == flight_id]
            passengers = [state["passenger_ids"][m["passenger"]] for m in moves]
            await conn.execute(
                """DELETE FROM seat_assignments
                   WHERE flight_id = $1 AND passenger_id = ANY($2::uuid[])""",
                flight_id, passengers,
            )  # fmt: skip
            await claim_seats(
                conn, user_id=state["user_id"], flight_id=flight_id,
                cabin=segments[flight_id], booking_id=state["id"],
                assignments=[(m["to"], p) for m, p in zip(moves, passengers, strict=True)],
                fields=[f"seats.{i}" for i in range(len(moves))], barred_from_exits=barred,
            )  # fmt: skip
            await exchange_seat_emds(conn, state["id"], [(p, flight_id) for p in passengers])
            await issue_seat_emds(conn, state["id"], state["currency"], [
                SeatSale(p, flight_id, m["to"], m.get("charge_minor", 0))
                for m, p in zip(moves, passengers, strict=True)
            ])  # fmt: skip
        await forget_documents(conn, state["id"])  # the receipts show the seats
        seats_minor = state["fare"].get("seats_minor", 0) + details["charge_minor"]
        await conn.execute(
            "UPDATE bookings SET fare = fare || jsonb_build_object('seats_minor', $2::bigint) "
            "WHERE id = $1",
            state["id"], seats_minor,
        )  # fmt: skip


def _field(location: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(location, message, "invalid")])


def _quote_contact(state: asyncpg.Record, request: ContactChange) -> dict[str, Any]:
    if request.contact is None and not request.passengers:
        raise _field("change", "Nothing to change.")
    count = len(state["passenger_types"])
    for index, p in enumerate(request.passengers):
        if p.passenger >= count:
            raise _field(f"change.passengers[{index}].passenger", "No such passenger.")
    return {
        "type": "contact",
        "contact": request.contact.model_dump() if request.contact else None,
        "passengers": [p.model_dump() for p in request.passengers],
        "charge_minor": 0, "refund_minor": 0, "fee_minor": 0,
    }  # fmt: skip


async def _apply_contact(
    conn: asyncpg.Connection, state: asyncpg.Record, details: dict[str, Any]
) -> None:
    if details["contact"] is not None:
        await conn.execute(
            "UPDATE bookings SET contact_email = $2, contact_phone = $3 WHERE id = $1",
            state["id"], details["contact"]["email"], details["contact"]["phone"],
        )  # fmt: skip
    for p in details["passengers"]:
        await conn.execute(
            """UPDATE passengers SET email = coalesce($2, email), phone = coalesce($3, phone)
               WHERE id = $1""",
            state["passenger_ids"][p["passenger"]], p["email"], p["phone"],
        )  # fmt: skip
    if details["passengers"] and details["contact"] is None:
        # Passengers carry no version of their own: the booking's version covers them,
        # so that synced trips and stale quotes see the change.
        await conn.execute("UPDATE bookings SET updated_at = now() WHERE id = $1", state["id"])
