"""Booking requests and bookings as clients see them."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from domain.bookings import examples
from domain.search.models import MAX_SEATS, Cabin, Money, PriceLine
from domain.times import Instant
from foundation.models import StrictModel

PassengerType = Literal["adult", "child", "infant"]

# Names as printed in the passport's visual zone: letters of any script, spaces,
# hyphens and apostrophes; no digits or punctuation that no passport prints.
PassportName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=60, pattern=r"^[^\W\d_]+([ '\-][^\W\d_]+)*$"
    ),
    Field(description="As printed in the passport: letters, spaces, hyphens, apostrophes."),
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+[1-9][0-9]{6,14}$"),
    Field(description="E.164, e.g. +14155550100."),
]
# Up to nine seated passengers and one lap infant for each adult, as search offers them.
MAX_PASSENGERS = 2 * MAX_SEATS
SeatCode = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,2}[A-K]$")]


class PassengerInput(StrictModel):
    type: PassengerType
    given_name: PassportName
    family_name: PassportName
    date_of_birth: date
    email: Email | None = None
    phone: Phone | None = None
    accompanied_by: int | None = Field(
        default=None,
        ge=0,
        lt=MAX_PASSENGERS,
        description="Lap infants only: the index in `passengers` of the adult the infant "
        "travels with, one infant per adult. By default infants go with the adults in order.",
    )


class Contact(StrictModel):
    email: Email
    phone: Phone | None = None


class SeatRequest(StrictModel):
    flight_id: int = Field(gt=0, description="A flight of the offer.")
    passenger: int = Field(ge=0, lt=MAX_PASSENGERS, description="Index into `passengers`.")
    seat: SeatCode


class CardPayment(StrictModel):
    type: Literal["card"]
    number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=23)]
    exp_month: Annotated[int, Field(ge=1, le=12)]
    exp_year: Annotated[int, Field(ge=2000, le=2100)]
    cvc: Annotated[
        str, StringConstraints(max_length=4), Field(description="Checked, never stored.")
    ]
    holder_name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                  max_length=100)]  # fmt: skip

    @field_validator("number")
    @classmethod
    def _digits_only(cls, value: str) -> str:
        return value.replace(" ", "").replace("-", "")


class SavedCardPayment(StrictModel):
    type: Literal["saved_card"]
    payment_method_id: uuid.UUID


Payment = Annotated[CardPayment | SavedCardPayment, Field(discriminator="type")]


class BookingRequest(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.BOOKING_REQUEST]})

    offer_id: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    passengers: Annotated[list[PassengerInput], Field(min_length=1, max_length=MAX_PASSENGERS)]
    contact: Contact
    seats: Annotated[list[SeatRequest], Field(max_length=54)] = []
    payment: Payment


# Responses ------------------------------------------------------------------------------


class SeatAssignment(BaseModel):
    passenger_no: int
    seat: str


class BookedSegment(BaseModel):
    segment_no: int
    slice_no: int
    flight_id: int
    designator: str = Field(
        description="As sold: the validating carrier's code on a codeshare, else the operator's."
    )
    operated_by: str | None = Field(
        default=None, description="On a codeshare: the operating carrier's name."
    )
    origin: str
    destination: str
    departure: Instant
    arrival: Instant
    cabin: Cabin
    fare_brand: str
    booking_class: str = Field(description="RBD: the one-letter booking class.")
    fare_basis: str = Field(examples=["MSTD"])
    flight_status: str
    seats: list[SeatAssignment]


class Coupon(BaseModel):
    coupon_no: int = Field(description="In travel order over the ticket and its conjunctions.")
    document_number: str = Field(
        description="The document that prints the coupon: the ticket for coupons 1-4, then "
        "its conjunction tickets (the next numbers)."
    )
    segment_no: int
    flight_id: int
    status: Literal["open", "checked_in", "lifted", "flown", "refunded", "exchanged", "void"]


class Ticket(BaseModel):
    ticket_number: str
    status: Literal["open", "used", "void", "refunded", "exchanged"]
    document_url: str
    coupons: list[Coupon] = Field(description="One flight coupon per segment.")


class Emd(BaseModel):
    """An electronic miscellaneous document: a paid seat, sold apart from the ticket."""

    emd_number: str
    description: str = Field(examples=["Seat 12A SB100"])
    flight_id: int | None
    seat: str | None
    amount: Money
    status: Literal["open", "used", "refunded", "void", "exchanged"]
    issued_at: datetime


class BookedPassenger(BaseModel):
    id: uuid.UUID
    passenger_no: int
    type: PassengerType
    given_name: str
    family_name: str
    date_of_birth: date | None
    email: str | None
    phone: str | None
    accompanied_by: int | None = Field(
        default=None, description="Lap infants: the passenger_no of the adult they travel with."
    )
    tickets: list[Ticket]
    emds: list[Emd] = Field(description="Paid seats, one EMD each.")


class PaymentRecord(BaseModel):
    id: uuid.UUID
    kind: Literal["charge", "refund"]
    amount: Money
    status: Literal["pending", "succeeded", "failed"]
    provider: str
    card_brand: str | None
    card_last4: str | None
    reason: str | None
    created_at: datetime


class FareSummary(BaseModel):
    brand: str
    cabin: Cabin
    fare: Money = Field(description="What the flights cost, taxes included, without seats.")
    taxes: Money = Field(description="Taxes, fees and carrier surcharges within `fare`.")
    price_breakdown: list[PriceLine] = Field(
        description="Per passenger type: base fare and each tax (empty on bookings made "
        "before taxes were itemised)."
    )
    seats: Money = Field(description="Seat selection charges.")
    refundable: bool
    changeable: bool
    change_fee: Money
    cancellation_fee: Money


class BookingContact(BaseModel):
    email: str | None
    phone: str | None


class Booking(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.BOOKING]})

    id: uuid.UUID
    record_locator: str
    status: Literal["confirmed", "cancelled"]
    user_id: uuid.UUID | None
    total: Money = Field(description="Paid so far, net of refunds.")
    fare: FareSummary | None = Field(description="What was sold; null on legacy bookings.")
    contact: BookingContact
    passengers: list[BookedPassenger]
    segments: list[BookedSegment]
    payments: list[PaymentRecord]
    created_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    cancellation_reason: str | None
    version: int


class BookingSummary(BaseModel):
    id: uuid.UUID
    record_locator: str
    status: Literal["confirmed", "cancelled"]
    origin: str
    destination: str
    departure: Instant
    arrival: Instant
    passengers: int
    total: Money
    created_at: datetime


class BookingPage(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.BOOKING_PAGE]})

    bookings: list[BookingSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
