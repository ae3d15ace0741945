"""The refund policy on its own: which rule applies, and what it costs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.bookings.cancellations import cancellation_terms

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
LIGHT = {"refundable": False}
FLEX = {"refundable": True, "cancellation_fee_minor": 5_000}


def _terms(fare: dict[str, object], *, bought_ago: timedelta, departs_in: timedelta,
           seated: int = 1, paid: int = 100_000, airline_cancelled: bool = False):  # type: ignore[no-untyped-def]  # fmt: skip
    return cancellation_terms(fare, paid, seated, NOW - bought_ago, NOW + departs_in,
                              airline_cancelled, NOW)  # fmt: skip


def test_the_free_day_covers_a_booking_made_a_week_or_more_before_departure() -> None:
    terms = _terms(LIGHT, bought_ago=timedelta(hours=2), departs_in=timedelta(days=6, hours=22))
    assert (terms.rule, terms.refund_minor, terms.fee_minor) == ("within_24_hours", 100_000, 0)


def test_a_last_minute_booking_gets_no_free_day() -> None:
    """Bought two hours before a flight that leaves in three: the fare's own rules."""
    light = _terms(LIGHT, bought_ago=timedelta(hours=2), departs_in=timedelta(hours=3))
    assert (light.rule, light.refund_minor) == ("non_refundable", 0)
    flex = _terms(FLEX, bought_ago=timedelta(hours=2), departs_in=timedelta(hours=3))
    assert (flex.rule, flex.fee_minor) == ("refundable", 10_000)  # doubled: within 72 h


def test_the_free_day_ends_after_24_hours() -> None:
    terms = _terms(LIGHT, bought_ago=timedelta(hours=25), departs_in=timedelta(days=30))
    assert terms.rule == "non_refundable"


def test_lap_infants_pay_no_cancellation_fee() -> None:
    """Two adults and a lap infant: two fees, not three."""
    terms = _terms(FLEX, bought_ago=timedelta(days=2), departs_in=timedelta(days=30), seated=2)
    assert (terms.fee_minor, terms.refund_minor) == (10_000, 90_000)


def test_an_airline_cancellation_refunds_everything_whatever_the_fare() -> None:
    terms = _terms(LIGHT, bought_ago=timedelta(days=40), departs_in=timedelta(days=1),
                   airline_cancelled=True)  # fmt: skip
    assert (terms.rule, terms.refund_minor) == ("airline_cancelled", 100_000)
