"""Passenger checks against the offer and the travel dates."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from domain.bookings.errors import InvalidPassenger, PassengersMismatch
from domain.bookings.models import PassengerInput, SeatRequest
from domain.bookings.offers import OfferTerms
from foundation.errors import FieldError, ValidationFailed

# Ages are judged on the local date of travel at each segment's origin, as the airline
# counts them: an infant is under 2 on every segment; a child is under 12 on the first
# and 2 or older by the last (so an infant who turns two before the return books as a
# child, with a seat, for the whole trip); an adult is 12 or older on the first.
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


def check_ages(passengers: Sequence[PassengerInput], travel_days: Sequence[date]) -> None:
    """``travel_days``: each segment's local date of departure, in travel order."""
    first_day, last_day = travel_days[0], travel_days[-1]
    errors = []
    for index, p in enumerate(passengers):
        where = f"passengers[{index}].date_of_birth"
        if p.date_of_birth > first_day or p.date_of_birth.year < 1900:
            errors.append(FieldError(where, "Not a plausible date of birth.", "invalid_date"))
            continue
        age = age_on(p.date_of_birth, first_day)
        if p.type == "adult" and age < ADULT_FROM:
            errors.append(FieldError(where, "Adults are 12 or older when they fly.", "age_type"))
        elif p.type == "child" and age >= ADULT_FROM:
            errors.append(FieldError(where, "Children are under 12 when they fly.", "age_type"))
        elif p.type == "child" and age_on(p.date_of_birth, last_day) < CHILD_FROM:
            errors.append(
                FieldError(where, "Under 2 on every flight: book as an infant.", "age_type")
            )
        elif p.type == "infant":
            two = next((d for d in travel_days if age_on(p.date_of_birth, d) >= CHILD_FROM), None)
            if two is not None:
                message = (
                    "Infants are under 2 when they fly."
                    if two == first_day
                    else f"Two years old by the flight of {two.isoformat()}: book as a child."
                )
                errors.append(FieldError(where, message, "age_type"))
    if errors:
        raise InvalidPassenger(errors)


def escorts(passengers: Sequence[PassengerInput]) -> list[int | None]:
    """Each passenger's escort: for a lap infant the index of the adult it travels with
    (``accompanied_by``, else the adults in order, one infant each); None for others."""
    adults = [i for i, p in enumerate(passengers) if p.type == "adult"]
    chosen = {p.accompanied_by for p in passengers if p.accompanied_by is not None}
    free = iter(i for i in adults if i not in chosen)
    found: list[int | None] = []
    errors = []
    taken: set[int] = set()
    for index, p in enumerate(passengers):
        where = f"passengers[{index}].accompanied_by"
        if p.type != "infant":
            if p.accompanied_by is not None:
                errors.append(FieldError(where, "Only lap infants are accompanied.", "not_infant"))
            found.append(None)
            continue
        adult = p.accompanied_by if p.accompanied_by is not None else next(free, None)
        if adult is None or adult not in adults:
            errors.append(FieldError(where, "Not an adult of this booking.", "no_escort"))
        elif adult in taken:
            errors.append(FieldError(where, "One lap infant per adult.", "escort_taken"))
        else:
            taken.add(adult)
        found.append(adult)
    if errors:
        raise InvalidPassenger(errors)
    return found


def barred_from_exits(types: Sequence[str], escorts: Sequence[int | None]) -> set[int]:
    """Indexes of passengers who may not sit in an exit row: children, infants, and
    adults with an infant on their lap."""
    barred = {i for i, kind in enumerate(types) if kind != "adult"}
    return barred | {adult for adult in escorts if adult is not None}


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
