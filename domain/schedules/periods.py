"""Dates of operation back into SSIM periods: the inverse of expansion.

Legs of one flight that share their times, variations and aircraft differ only
by date; SSIM states such a set as periods with days of operation. The greedy
cover below takes the earliest date left, reads the weekdays of its first
seven days as the pattern, and extends the period week by week while the dates
keep to that pattern exactly (a week that breaks it ends the period at the last
day that still matched). Every date lands in exactly one period, so expanding
the periods gives back the same dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date
    days: frozenset[int]  # ISO weekdays


def periods(dates: Iterable[date]) -> Iterator[Period]:
    """Periods with days of operation covering exactly ``dates``."""
    left = sorted(set(dates))
    remaining = set(left)
    for first in left:
        if first not in remaining:
            continue
        week = [first + k * ONE_DAY for k in range(7)]
        days = frozenset(d.isoweekday() for d in week if d in remaining)
        end = max(d for d in week if d in remaining)
        cursor = first + 7 * ONE_DAY
        while True:
            matched_to = None
            broken = False
            for k in range(7):
                day = cursor + k * ONE_DAY
                if (day in remaining) != (day.isoweekday() in days):
                    broken = True
                    break
                if day in remaining:
                    matched_to = day
            if matched_to is not None:
                end = matched_to
            if broken or matched_to is None:
                break
            cursor += 7 * ONE_DAY
        day = first
        while day <= end:
            if day.isoweekday() in days:
                remaining.discard(day)
            day += ONE_DAY
        yield Period(first, end, days)
