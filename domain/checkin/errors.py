"""What a check-in or its undo can run into, each with its own problem ``type``."""

from __future__ import annotations

from datetime import datetime

from foundation.errors import Conflict, FieldError, NotFound, ValidationFailed


class CheckInNotOpen(Conflict):
    slug = "check-in-not-open"
    title = "Check-in is not open yet"

    def __init__(self, designator: str, opens_at: datetime) -> None:
        super().__init__(
            f"Check-in for {designator} opens at {opens_at.isoformat()}.",
            flight=designator,
            opens_at=opens_at.isoformat(),
        )


class CheckInClosed(Conflict):
    slug = "check-in-closed"
    title = "Check-in is closed"

    def __init__(self, designator: str, closed_at: datetime) -> None:
        super().__init__(
            f"Check-in for {designator} closed at {closed_at.isoformat()}; see an agent "
            "at the airport.",
            flight=designator,
            closed_at=closed_at.isoformat(),
        )


class FlightNotCheckable(Conflict):
    """The flight is cancelled, or has left (or is boarding past its close)."""

    slug = "flight-not-checkable"
    title = "This flight cannot be checked in"

    def __init__(self, designator: str, status: str) -> None:
        super().__init__(f"{designator} is {status}.", flight=designator, flight_status=status)


class BookingNotCheckable(Conflict):
    slug = "booking-not-checkable"
    title = "This booking cannot be checked in"


class NoLiveTicket(Conflict):
    slug = "no-live-ticket"
    title = "A passenger has no valid ticket"

    def __init__(self, passenger_no: int) -> None:
        super().__init__(
            f"Passenger {passenger_no} holds no open ticket.", passenger_no=passenger_no
        )


class NoSeatAvailable(Conflict):
    slug = "no-seat-available"
    title = "No free seat to assign"

    def __init__(self, designator: str, cabin: str) -> None:
        super().__init__(
            f"Every {cabin.replace('_', ' ')} seat on {designator} is taken; see an agent "
            "at the airport.",
            flight=designator,
        )


class NotCheckedIn(Conflict):
    slug = "not-checked-in"
    title = "Not checked in"


class InvalidTravelDocument(ValidationFailed):
    slug = "invalid-travel-document"
    title = "A travel document is missing or not valid"


class UnknownTravelSelection(ValidationFailed):
    """A passenger or segment number that the booking does not have."""

    slug = "unknown-passenger-or-segment"
    title = "No such passenger or segment on this booking"

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors)


class BoardingPassNotFound(NotFound):
    slug = "boarding-pass-not-found"
    title = "Boarding pass not found"

    def __init__(self) -> None:
        super().__init__("No boarding pass: the passenger is not checked in for this segment.")
