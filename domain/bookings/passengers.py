"""Passenger checks against the offer and the travel dates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from domain.bookings.errors import InvalidPassenger, PassengersMismatch
from domain.bookings.models import PassengerInput, SeatRequest
from domain.bookings.offers import OfferTerms
from foundation.errors import FieldError, ValidationFailed

# Ages on the day of the first flight: infants are under 2 (and must still be on the
# last flight), children 2 to 11, adults 12 and over.
CHILD_FROM = 2
ADULT_FROM = 12


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def check_mix(passengers: Sequence[PassengerInput], terms: OfferTerms) -> None:
    counts: Counter[str] = Counter(p.type for p in passengers)
    wanted = {"adult": terms.adults, "child": terms.children, "infant": terms.infants}
    if any(counts.get(kind, 0) != count for kind, count in wanted.items()):
        raise PassengersMismatch(
            [
                FieldError(
                    "passengers",
                    f"The offer is for {terms.adults} adult(s), {terms.children} child(ren) "
                    f"and {terms.infants} infant(s).",
                    "passengers_mismatch",
                )
            ]
        )


def check_ages(passengers: Sequence[PassengerInput], first_day: date, last_day: date) -> None:
    errors = []
    for index, p in enumerate(passengers):
        where = f"passengers[{index}].date_of_birth"
        if p.date_of_birth > first_day or p.date_of_birth.year < 1900:
            errors.append(FieldError(where, "Not a plausible date of birth.", "invalid_date"))
            continue
        age = age_on(p.date_of_birth, first_day)
        if p.type == "adult" and age < ADULT_FROM:
            errors.append(FieldError(where, "Adults are 12 or older when they fly.", "age_type"))
        elif p.type == "child" and not CHILD_FROM <= age < ADULT_FROM:
            errors.append(FieldError(where, "Children are 2 to 11 when they fly.", "age_type"))
        elif p.type == "infant" and age_on(p.date_of_birth, last_day) >= CHILD_FROM:
            errors.append(FieldError(where, "Infants must be under 2 on every flight.", "age_type"))
    if errors:
        raise InvalidPassenger(errors)


def check_seat_requests(
    seats: Sequence[SeatRequest], passengers: Sequence[PassengerInput], terms: OfferTerms
) -> None:
    errors = []
    taken: set[tuple[int, int]] = set()
    chosen: set[tuple[int, str]] = set()
    flights = set(terms.flight_ids)
    for index, request in enumerate(seats):
        where = f"seats[{index}]"
        if request.flight_id not in flights:
            errors.append(FieldError(f"{where}.flight_id", "Not a flight of the offer.", "unknown"))
        if request.passenger >= len(passengers):
            errors.append(FieldError(f"{where}.passenger", "No such passenger.", "unknown"))
        elif passengers[request.passenger].type == "infant":
            errors.append(
                FieldError(f"{where}.passenger", "Infants travel on a lap.", "infant_seat")
            )
        if (request.flight_id, request.passenger) in taken:
            errors.append(FieldError(where, "One seat per passenger per flight.", "duplicate_seat"))
        if (request.flight_id, request.seat) in chosen:
            errors.append(
                FieldError(f"{where}.seat", "The seat is chosen twice.", "duplicate_seat")
            )
        taken.add((request.flight_id, request.passenger))
        chosen.add((request.flight_id, request.seat))
    if errors:
        raise ValidationFailed(errors)
