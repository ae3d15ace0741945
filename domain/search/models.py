"""Search requests and offers: what travellers ask for and what they get back."""

from __future__ import annotations

import datetime as dt
from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from domain.flights import Carrier
from domain.search import examples
from domain.times import Instant, LocalTime
from foundation.models import StrictModel

Cabin = Literal["economy", "premium_economy", "business", "first"]
SortOrder = Literal["best", "price", "duration", "departure", "arrival"]

IataCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z]{3}$", to_upper=True),
    Field(description="Three-letter IATA airport code.", examples=["JFK"]),
]
CarrierCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9]{2}$", to_upper=True),
    Field(description="Two-character IATA airline code.", examples=["SB"]),
]
CurrencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z]{3}$", to_upper=True),
    Field(description="ISO 4217 currency of the prices.", examples=["USD"]),
]

MAX_SLICES = 6
MAX_SEATS = 9


class TimeWindow(StrictModel):
    """Local times at the airport, inclusive: ``{"from": "06:00", "to": "12:00"}``."""

    from_: Annotated[LocalTime, Field(alias="from")] = time(0, 0)
    to: LocalTime = time(23, 59)

    @field_validator("to")
    @classmethod
    def _ordered(cls, value: time, info: ValidationInfo) -> time:
        start = info.data.get("from_")
        if start is not None and value < start:
            raise ValueError("`to` must not be before `from`.")
        return value


class SliceRequest(StrictModel):
    origin: IataCode
    destination: IataCode
    date: dt.date = Field(description="Departure date in the origin airport's local time.")
    departure_window: TimeWindow | None = Field(
        default=None, description="Only itineraries leaving within these local times."
    )
    arrival_window: TimeWindow | None = Field(
        default=None, description="Only itineraries arriving within these local times."
    )

    @field_validator("destination")
    @classmethod
    def _different_ends(cls, value: str, info: ValidationInfo) -> str:
        if value == info.data.get("origin"):
            raise ValueError("Destination must differ from origin.")
        return value


class Passengers(StrictModel):
    adults: Annotated[int, Field(ge=1, le=MAX_SEATS, description="At least one adult travels.")] = 1
    children: Annotated[int, Field(ge=0, le=MAX_SEATS, description="Aged 2 to 11.")] = 0
    infants: Annotated[
        int, Field(ge=0, le=MAX_SEATS, description="Under 2, on an adult's lap: no seat.")
    ] = 0

    @field_validator("children")
    @classmethod
    def _seats(cls, value: int, info: ValidationInfo) -> int:
        if info.data.get("adults", 1) + value > MAX_SEATS:
            raise ValueError(f"At most {MAX_SEATS} seats per booking (adults and children).")
        return value

    @field_validator("infants")
    @classmethod
    def _laps(cls, value: int, info: ValidationInfo) -> int:
        if value > info.data.get("adults", 1):
            raise ValueError("Each infant travels on an adult's lap: no more infants than adults.")
        return value

    @property
    def seats(self) -> int:
        return self.adults + self.children


class Filters(StrictModel):
    min_price_minor: Annotated[int | None, Field(ge=0)] = None
    max_price_minor: Annotated[int | None, Field(ge=0)] = None
    max_stops: Annotated[int | None, Field(ge=0, le=2)] = None
    airlines: Annotated[
        list[CarrierCode] | None, Field(max_length=20, description="Only these carriers.")
    ] = None
    exclude_airlines: Annotated[list[CarrierCode] | None, Field(max_length=20)] = None
    max_duration_minutes: Annotated[
        int | None, Field(ge=30, le=7 * 24 * 60, description="Per slice, door to door.")
    ] = None
    max_layover_minutes: Annotated[int | None, Field(ge=0, le=24 * 60)] = None

    @field_validator("max_price_minor")
    @classmethod
    def _price_range(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("min_price_minor")
        if value is not None and low is not None and value < low:
            raise ValueError("max_price_minor must not be below min_price_minor.")
        return value


class SearchRequest(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SEARCH_REQUEST]})

    slices: Annotated[list[SliceRequest], Field(min_length=1, max_length=MAX_SLICES)]
    passengers: Passengers = Passengers()
    cabin: Cabin = "economy"
    max_connections: Annotated[int, Field(ge=0, le=2)] = 1
    currency: CurrencyCode = "USD"
    filters: Filters = Filters()
    sort: SortOrder = "best"
    limit: Annotated[int, Field(ge=1, le=100)] = 20
    cursor: Annotated[str | None, Field(max_length=512)] = None


# Offers ---------------------------------------------------------------------------


class Money(BaseModel):
    amount_minor: int
    currency: str


class PlaceRef(BaseModel):
    iata: str
    name: str
    city: str
    country: str


class Segment(BaseModel):
    flight_id: int
    designator: str = Field(
        description="As sold: the marketing carrier's code and number when the itinerary's "
        "carrier sells this leg under its own code, else the operator's.",
        examples=["KA7001"],
    )
    carrier: Carrier = Field(description="The operating carrier: who flies it.")
    marketing_carrier: Carrier | None = Field(
        default=None,
        description="Set on a codeshare: the carrier whose code the segment is sold under "
        "(show 'operated by' `carrier`).",
    )
    origin: PlaceRef
    destination: PlaceRef
    departure: Instant
    arrival: Instant
    duration_minutes: int
    aircraft: str | None
    cabin: Cabin
    fare_brand: str


class Layover(BaseModel):
    airport: str
    departs_from: str = Field(
        description="Differs from `airport` when the connection changes airport."
    )
    minutes: int


class OfferSlice(BaseModel):
    origin: str
    destination: str
    departure: Instant
    arrival: Instant
    duration_minutes: int
    stops: int
    segments: list[Segment]
    layovers: list[Layover]


class FareConditions(BaseModel):
    brand: str
    refundable: bool = Field(description="Every segment's fare is refundable.")
    changeable: bool
    change_fee: Money
    cancellation_fee: Money
    checked_bags: int


PassengerType = Literal["adult", "child", "infant"]


class TaxLine(BaseModel):
    code: str = Field(description="IATA tax code: US, XF, GB, UB, YQ...", examples=["US"])
    name: str = Field(examples=["US International Transportation Tax"])
    kind: Literal["government", "airport", "carrier"] = Field(
        description="Government taxes and airport charges are refunded on a cancelled "
        "non-refundable fare; carrier surcharges follow the fare."
    )
    amount: Money


class PriceLine(BaseModel):
    passenger_type: PassengerType
    count: int
    base: Money = Field(description="Base fare per passenger.")
    taxes: list[TaxLine] = Field(description="Per passenger, by code.")
    unit: Money = Field(description="Per passenger: base fare plus taxes.")
    total: Money


class Offer(BaseModel):
    id: str = Field(description="Signed: the booking step re-checks price and seats from it.")
    total: Money
    price_breakdown: list[PriceLine]
    slices: list[OfferSlice]
    seats_left: int = Field(description="Fewest seats left in the cabin over all segments.")
    fare: FareConditions
    expires_at: datetime


class SearchResults(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.SEARCH_RESULTS]})

    offers: list[Offer]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
    total_offers: int = Field(description="Offers matching the filters, over all pages.")
    complete: bool = Field(
        description="False when the time budget ran out: more itineraries may exist."
    )
    currency: str
