"""When check-in for a leg is open: a span of instants before scheduled departure.

The window is judged in UTC instants, never in wall-clock time: 24 hours before a
departure just after a clock change is 23 or 25 hours of wall clock at the airport.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

# Flight statuses that leave nothing to check in for.
CLOSED_STATUSES = frozenset({"departed", "landed", "arrived", "cancelled", "diverted"})


@dataclass(frozen=True, slots=True)
class CheckInRules:
    """A carrier's check-in settings (the ``airlines`` columns)."""

    opens_hours: int = 24
    closes_minutes: int = 60
    closes_domestic_minutes: int = 45


@dataclass(frozen=True, slots=True)
class CheckInWindow:
    opens_at: datetime
    closes_at: datetime

    @classmethod
    def of(cls, departure: datetime, domestic: bool, rules: CheckInRules) -> CheckInWindow:
        closes = rules.closes_domestic_minutes if domestic else rules.closes_minutes
        return cls(
            departure - timedelta(hours=rules.opens_hours), departure - timedelta(minutes=closes)
        )

    def state(self, now: datetime) -> Literal["not_open", "open", "closed"]:
        """Open from ``opens_at`` (inclusive) until ``closes_at`` (exclusive)."""
        if now < self.opens_at:
            return "not_open"
        if now >= self.closes_at:
            return "closed"
        return "open"
