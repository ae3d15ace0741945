"""The sync protocol on the wire: pull and push bodies, changes, mutations and results.

Every input model refuses unknown fields. A push's envelope (client id, schema
version, the list) is validated up front; each mutation is validated only when
its turn comes, so the mutations before a bad one are applied and reported.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from domain.bookings.models import MAX_PASSENGERS, PassportName, SeatCode
from foundation.models import StrictModel
from sync import examples
from sync.clock import CLOCK_PATTERN

# The shape of records and mutations. A client on another version is told to reset.
# 2: tickets lost their per-segment `bcbp` (a pass exists only after check-in) and the
#    `boarding_passes` collection carries the passes; docs/sync.md lists every version.
SCHEMA_VERSION = 2

Collection = Literal[
    "trips",
    "flights",
    "tickets",
    "boarding_passes",
    "preferences",
    "travelers",
    "trip_notes",
    "notifications",
]
# Also the order of a full state: trips first, so a device can render as pages arrive.
COLLECTIONS: tuple[Collection, ...] = (
    "trips", "flights", "tickets", "boarding_passes", "preferences", "travelers", "trip_notes",
    "notifications",
)  # fmt: skip

MAX_PULL_LIMIT = 10_000
MAX_MUTATIONS = 500

ClientId = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$"),
    Field(description="Chosen by the device, unique per install (a random UUID, say)."),
]


# Pull -----------------------------------------------------------------------------------


class PullRequest(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.PULL_REQUEST]})

    cursor: Annotated[str | None, Field(max_length=1024)] = Field(
        description="null for the whole current state; else the cursor of the last pull."
    )
    collections: Annotated[list[Collection], Field(min_length=1, max_length=len(COLLECTIONS))] = (
        Field(default_factory=lambda: list(COLLECTIONS))
    )
    limit: Annotated[int, Field(ge=1, le=MAX_PULL_LIMIT)] = Field(
        default=500, description="Records per page; one event's records are never split."
    )
    schema_version: int = Field(
        description=f"The client's schema; this server speaks {SCHEMA_VERSION}."
    )


class Change(BaseModel):
    collection: Collection
    id: str
    op: Literal["upsert", "delete"]
    version: int = Field(description="The record's version; 0 when it never existed.")
    data: dict[str, Any] | None = Field(description="The whole record; null for a delete.")


class PullResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.PULL_RESPONSE]})

    changes: list[Change]
    cursor: str = Field(description="Opaque; send it with the next pull.")
    has_more: bool = Field(description="Pull again at once: this page was full.")
    reset: bool = Field(
        description="Drop every record of these collections before applying this page: the "
        "cursor was too old (or of another life of the database) to continue from."
    )
    last_mutation_ids: dict[str, int] = Field(
        description="Per client id of this user, the last mutation whose effect this pull "
        "covers: drop those from the upload queue."
    )
    schema_version: int


# Push -----------------------------------------------------------------------------------


class PushRequest(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.PUSH_REQUEST]})

    client_id: ClientId
    schema_version: int
    mutations: Annotated[list[Any], Field(max_length=MAX_MUTATIONS)] = Field(
        description="In order, ids increasing: `{id, name, args, client_time}`. Names: "
        "preferences.update, travelers.upsert, travelers.delete, trip_notes.upsert, "
        "trip_notes.delete, notifications.mark_read, booking.change_seat, "
        "booking.request_cancellation (see docs/sync.md)."
    )

    @field_validator("client_id")
    @classmethod
    def _not_the_server(cls, value: str) -> str:
        if value == "server":
            raise ValueError("'server' names writes that did not come through sync.")
        return value


class Mutation(StrictModel):
    id: Annotated[int, Field(ge=1, le=2**53 - 1)]
    name: Annotated[str, Field(max_length=64)]
    args: dict[str, Any]
    client_time: Annotated[str, StringConstraints(pattern=CLOCK_PATTERN)] = Field(
        description="The device's hybrid logical clock when the edit was made."
    )


class MutationResult(BaseModel):
    id: int
    status: Literal["applied", "conflict", "rejected"]
    reason: str | None = None
    detail: str | None = None
    record: Change | None = Field(default=None, description="The server's record now.")
    replayed: bool = Field(default=False, description="Processed by an earlier push.")


class PushResponse(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [examples.PUSH_RESPONSE]})

    results: list[MutationResult]
    last_mutation_id: int


# Mutation arguments ---------------------------------------------------------------------

Seat = Literal["window", "aisle", "no_preference"]
Meal = Literal["standard", "vegetarian", "vegan", "halal", "kosher", "gluten_free", "child"]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
PassportNumber = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{5,20}$")]
LoyaltyNumbers = Annotated[
    dict[Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2}$")],
         Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{4,20}$")]],
    Field(max_length=20),
]  # fmt: skip


class Partial(StrictModel):
    """Only the fields sent are written; at least one must be."""

    @model_validator(mode="after")
    def _something_sent(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("Send at least one field.")
        return self


class PreferencesUpdate(Partial):
    """Each field sent is written if its clock is the newest for that field."""

    seat: Seat = "no_preference"
    meal: Meal = "standard"
    language: Language = "en"
    notification_channels: Annotated[
        list[Literal["email", "push", "sms"]], Field(max_length=3)
    ] = []
    marketing_consent: bool = False


class TravelerFields(Partial):
    given_name: PassportName | None = None
    family_name: PassportName | None = None
    date_of_birth: date | None = None
    nationality: Country | None = None
    passport_number: PassportNumber | None = None
    passport_expiry: date | None = None
    loyalty_numbers: LoyaltyNumbers = {}

    @field_validator("given_name", "family_name")
    @classmethod
    def _names_stay(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("A traveller's names cannot be cleared.")
        return value

    @field_validator("date_of_birth")
    @classmethod
    def _plausible_birth(cls, value: date | None) -> date | None:
        if value is not None and not date(1900, 1, 1) <= value <= datetime.now(UTC).date():
            raise ValueError("Date of birth must be between 1900 and today.")
        return value


class TravelerUpsert(StrictModel):
    id: uuid.UUID
    base_version: Annotated[int, Field(ge=1)] | None = Field(
        default=None, description="The version the edit was made on; null to create."
    )
    fields: TravelerFields

    @model_validator(mode="after")
    def _names_to_create(self) -> Self:
        if self.base_version is None:
            missing = {"given_name", "family_name"} - self.fields.model_fields_set
            if missing:
                raise ValueError(f"A new traveller needs {' and '.join(sorted(missing))}.")
        return self


class TravelerDelete(StrictModel):
    id: uuid.UUID
    base_version: Annotated[int, Field(ge=1)]


class TripNoteUpsert(StrictModel):
    id: uuid.UUID
    booking_id: uuid.UUID
    title: Annotated[str, Field(max_length=200)] | None = None
    body: Annotated[str, Field(max_length=10_000)] | None = None

    @model_validator(mode="after")
    def _something_written(self) -> Self:
        if not {"title", "body"} & self.model_fields_set:
            raise ValueError("Send a title, a body or both.")
        return self


class TripNoteDelete(StrictModel):
    id: uuid.UUID


def _whole_number(value: Any) -> Any:
    # The JSON parser reads an integer beyond 64 bits as a float; it is still a whole
    # number (of no notification), which mark_read rejects rather than the push failing.
    if isinstance(value, float) and value.is_integer() and abs(value) >= 2**63:
        return int(value)
    return value


NotificationId = Annotated[int, BeforeValidator(_whole_number), Field(ge=1)]


class NotificationsRead(StrictModel):
    ids: Annotated[list[NotificationId], Field(min_length=1, max_length=500)]


class SeatChangeRequest(StrictModel):
    booking_id: uuid.UUID
    flight_id: Annotated[int, Field(gt=0)]
    passenger: Annotated[
        int, Field(ge=0, lt=MAX_PASSENGERS, description="Index into the trip's passengers.")
    ]
    seat: SeatCode
    max_charge_minor: Annotated[int, Field(ge=0)] = Field(
        default=0, description="Refuse the change if the seat costs more than this."
    )
    payment_method_id: uuid.UUID | None = Field(
        default=None, description="A saved card, for a seat that costs money."
    )


class CancellationRequest(StrictModel):
    booking_id: uuid.UUID
    min_refund_minor: Annotated[int, Field(ge=0)] = Field(
        default=0, description="Refuse to cancel if the refund would be less than this."
    )


MUTATION_ARGS: dict[str, type[StrictModel]] = {
    "preferences.update": PreferencesUpdate,
    "travelers.upsert": TravelerUpsert,
    "travelers.delete": TravelerDelete,
    "trip_notes.upsert": TripNoteUpsert,
    "trip_notes.delete": TripNoteDelete,
    "notifications.mark_read": NotificationsRead,
    "booking.change_seat": SeatChangeRequest,
    "booking.request_cancellation": CancellationRequest,
}
