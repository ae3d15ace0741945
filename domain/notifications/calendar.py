"""An iCalendar (RFC 5545) entry per flight, so a trip lands in the traveller's calendar
at the right moment whatever zone their calendar is set to: each time carries its
airport's zone, with the zone's definition included."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event

from domain.notifications.trips import Leg, Trip

PRODUCT_ID = "-//Sky-Bound Journeys//Trip//EN"


def flight_calendar(trip: Trip, leg: Leg, *, stamp: datetime | None = None) -> bytes:
    """One VEVENT for ``leg``: departure in the origin's zone, arrival in the
    destination's, a UID stable across resends and changes of the same segment."""
    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{trip.booking_id}-{leg.flight_id}@skybound")
    event.add("dtstamp", stamp or datetime.now(UTC))
    event.add("dtstart", leg.departure)
    event.add("dtend", leg.arrival)
    event.add("summary", f"{leg.designator} {leg.origin.iata} → {leg.destination.iata}")
    event.add("location", f"{leg.origin.name} ({leg.origin.iata})")
    event.add(
        "description",
        f"{leg.carrier_name} {leg.designator}, {leg.origin.city} → {leg.destination.city}. "
        f"Booking {trip.record_locator}.",
    )
    calendar.add_component(event)
    calendar.add_missing_timezones()
    # icalendar leaves to_ical() unannotated; it returns the encoded calendar.
    ical: bytes = calendar.to_ical()
    return ical
