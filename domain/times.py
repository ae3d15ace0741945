"""Instants shown both in UTC and in an airport's local time."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_serializer


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_date(moment: datetime, time_zone: str) -> date:
    """The calendar date at a place: what a passenger's age or a ticket is judged on."""
    return moment.astimezone(zone(time_zone)).date()


def _without_zone(value: time) -> time:
    # The airport's zone gives a local time its meaning; an offset would contradict it,
    # and an aware time cannot be compared with a naive one.
    if value.tzinfo is not None:
        raise ValueError("A local time has no zone or offset: send HH:MM.")
    return value


LocalTime = Annotated[
    time,
    AfterValidator(_without_zone),
    Field(description="Wall-clock time at the airport, without a zone.", examples=["06:00"]),
]


class Instant(BaseModel):
    """One moment, as UTC and as the wall-clock time at the relevant airport."""

    model_config = ConfigDict(frozen=True)

    utc: datetime = Field(examples=["2026-12-01T13:05:00Z"])
    local: datetime = Field(
        description="Airport-local time with its UTC offset.",
        examples=["2026-12-01T08:05:00-05:00"],
    )

    @field_serializer("local")
    def _explicit_offset(self, value: datetime) -> str:
        # Local times always show their offset, "+00:00" included, never "Z".
        return value.isoformat()

    @classmethod
    def of(cls, moment: datetime, time_zone: str) -> Instant:
        return cls(utc=moment.astimezone(UTC), local=moment.astimezone(zone(time_zone)))

    @classmethod
    def at(cls, moment: datetime | None, time_zone: str) -> Instant | None:
        """Like ``of``, for the optional times (estimated, actual) of a flight."""
        return None if moment is None else cls.of(moment, time_zone)
