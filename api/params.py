"""Input models shared by several endpoints (REST and streams): codes, dates, paths."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from foundation.models import StrictModel

IataCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z]{3}$", to_upper=True),
    Field(description="Three-letter IATA airport code.", examples=["JFK"]),
]

# Schedules are published about a year ahead; anything outside this range is a typo.
DATE_HORIZON = timedelta(days=366)


def _near_today(value: date) -> date:
    today = datetime.now(UTC).date()
    if not today - DATE_HORIZON <= value <= today + DATE_HORIZON:
        raise ValueError("Date must be within a year of today.")
    return value


ScheduleDate = Annotated[
    date,
    AfterValidator(_near_today),
    Field(description="A date within a year (366 days) of today; others are a 422."),
]


class IataPath(StrictModel):
    iata: IataCode
