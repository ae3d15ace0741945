"""Check-in requests and the boarding passes they give, as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.checkin import examples
from domain.checkin.travel_documents import TravelDocumentInput
from domain.times import Instant
from foundation.models import StrictModel

Numbers = Annotated[list[Annotated[int, Field(ge=1)]], Field(min_length=1, max_length=20)]


class CheckInRequest(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.CHECK_IN_REQUEST]})

    passengers: Numbers | None = Field(
        default=None,
        description="Passenger numbers to check in; all passengers of the booking if absent.",
        examples=[[1, 2]],
    )
    segments: Numbers | None = Field(
        default=None,
        description="Segment numbers to check in; if absent, every segment whose check-in "
        "window is open now.",
        examples=[[1]],
    )
    documents: Annotated[list[TravelDocumentInput], Field(max_length=20)] = Field(
        default_factory=list,
        description="Travel documents, required for international segments unless given "
        "at an earlier check-in of the booking.",
    )


class BoardingPassView(BaseModel):
    passenger_no: int
    passenger_type: Literal["adult", "child", "infant"]
    given_name: str
    family_name: str
    segment_no: int
    flight_id: int
    designator: str = Field(examples=["SB100"])
    airline: str = Field(examples=["Skybound Airways"])
    record_locator: str
    origin: str
    destination: str
    departure: Instant = Field(description="Estimated departure when known, else scheduled.")
    boarding_time: Instant
    gate: str | None = Field(description="null until the gate is announced.")
    terminal: str | None
    cabin: str
    seat: str | None = Field(
        description="null for an infant on a lap, or a flight without "
        "a seat map (the seat is given at the gate)."
    )
    zone: str = Field(description="Boarding zone (group), called in order 1 to 5.")
    sequence: int = Field(
        description="Check-in sequence number: the order in which "
        "passengers checked in for this flight."
    )
    ticket_number: str
    status: Literal["checked_in"] = "checked_in"
    checked_in_at: datetime
    bcbp: str = Field(description="The IATA BCBP string the barcode encodes.")
    pdf_url: str = Field(description="The boarding pass as a PDF (with a bearer token).")


class BoardingPassList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.BOARDING_PASS_LIST]})

    booking_id: str
    boarding_passes: list[BoardingPassView] = Field(
        description="By segment, then passenger number."
    )
