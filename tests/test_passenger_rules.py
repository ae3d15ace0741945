"""Who may fly as what: ages on the local date of each flight, lap infants and their adults,
and who may sit in an exit row."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from tests.booking_helpers import adult, bearer, book, booking_body, offer_for, post_booking
from tests.factories import add_aircraft_cabins
from tests.problems import assert_problem
from tests.search_world import DAY, NEW_YORK, RETURN, at, leg, search


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February: the birthday falls on 1 March in common years
        return date(day.year - years, 3, 1)


def _person(kind: str, given: str, born: date, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "given_name": given, "family_name": "Lovelace",
            "date_of_birth": born.isoformat(), **extra}  # fmt: skip


async def _offer_on(client: TestClient, flight_id: int, **body: Any) -> dict[str, Any]:
    results = await search(
        client,
        slices=[{"origin": "JFK", "destination": "LHR", "date": DAY.isoformat()}],
        limit=100,
        **body,
    )
    for offer in results["offers"]:
        flights = [seg["flight_id"] for s in offer["slices"] for seg in s["segments"]]
        if flights == [flight_id] and offer["fare"]["brand"] == "Standard":
            return dict(offer)
    raise AssertionError("no such offer")


# Ages ----------------------------------------------------------------------------------


async def test_an_infant_is_judged_on_the_local_date_of_departure(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    """20:30 in New York is already the next day in UTC; the infant turns two on that UTC
    day, but flies the evening before its birthday, as the airline counts it."""
    evening = await leg(db, "JFK", "LHR", at(DAY, "20:30", NEW_YORK), 420, number=11)
    offer = await _offer_on(client, evening, passengers={"adults": 1, "infants": 1})
    infant = _person("infant", "Ivy", _years_before(DAY + timedelta(days=1), 2))
    booking = await book(client, uuid.uuid4(), booking_body(offer, passengers=[adult(), infant]))
    assert [p["type"] for p in booking["passengers"]] == ["adult", "infant"]

    too_old = _person("infant", "Ivy", _years_before(DAY, 2))  # two on the day it flies
    body = booking_body(offer, passengers=[adult(), too_old])
    response = await post_booking(client, uuid.uuid4(), body)
    await assert_problem(response, 422, field="body.passengers[1].date_of_birth")


async def test_an_infant_who_turns_two_before_the_return_books_as_a_child(
    client: TestClient, search_world: dict[str, int]
) -> None:
    slices = [{"origin": "JFK", "destination": "LHR", "date": DAY.isoformat()},
              {"origin": "LHR", "destination": "JFK", "date": RETURN.isoformat()}]  # fmt: skip
    born = _years_before(DAY + timedelta(days=3), 2)

    as_infant = await search(client, slices=slices, passengers={"adults": 1, "infants": 1})
    response = await post_booking(client, uuid.uuid4(), booking_body(
        as_infant["offers"][0], passengers=[adult(), _person("infant", "Ivy", born)],
    ))  # fmt: skip
    body = await assert_problem(response, 422, field="body.passengers[1].date_of_birth")
    assert RETURN.isoformat() in body["errors"][0]["message"]

    as_child = await search(client, slices=slices, passengers={"adults": 1, "children": 1})
    booking = await book(client, uuid.uuid4(), booking_body(
        as_child["offers"][0], passengers=[adult(), _person("child", "Ivy", born)],
    ))  # fmt: skip
    assert [p["type"] for p in booking["passengers"]] == ["adult", "child"]


async def test_a_child_under_two_on_every_flight_books_as_an_infant(
    client: TestClient, search_world: dict[str, int]
) -> None:
    offer = await offer_for(client, passengers={"adults": 1, "children": 1})
    baby = _person("child", "Ivy", DAY - timedelta(days=200))
    body = booking_body(offer, passengers=[adult(), baby])
    response = await post_booking(client, uuid.uuid4(), body)
    await assert_problem(response, 422, field="body.passengers[1].date_of_birth")


# Lap infants -----------------------------------------------------------------------------


async def test_nine_adults_with_nine_lap_infants_book_as_search_offered_them(
    client: TestClient, search_world: dict[str, int]
) -> None:
    offer = await offer_for(client, passengers={"adults": 9, "infants": 9})
    adults = [adult(given=f"Ada{chr(65 + i)}") for i in range(9)]
    infants = [_person("infant", f"Ivy{chr(65 + i)}", DAY - timedelta(days=100)) for i in range(9)]
    infants[0]["accompanied_by"] = 8  # the last adult holds the first infant
    booking = await book(client, uuid.uuid4(), booking_body(offer, passengers=adults + infants))
    escorts = [p["accompanied_by"] for p in booking["passengers"]]
    assert escorts == [None] * 9 + [9, 1, 2, 3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize(
    ("escorts", "field"),
    [
        ({2: 0, 3: 0}, "body.passengers[3].accompanied_by"),  # one lap, two infants
        ({2: 1}, "body.passengers[2].accompanied_by"),  # a child holds no infant
        ({0: 0}, "body.passengers[0].accompanied_by"),  # adults are not accompanied
        ({2: 7}, "body.passengers[2].accompanied_by"),  # no such passenger
    ],
)
async def test_each_lap_infant_goes_with_its_own_adult(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int],
    escorts: dict[int, int], field: str,
) -> None:  # fmt: skip
    offer = await offer_for(client, passengers={"adults": 2, "children": 1, "infants": 2})
    people = [
        adult(), _person("child", "Cy", DAY - timedelta(days=2000)),
        _person("infant", "Ivy", DAY - timedelta(days=100)), adult(given="Bea"),
        _person("infant", "Ida", DAY - timedelta(days=100)),
    ]  # fmt: skip
    for index, escort in escorts.items():
        people[index]["accompanied_by"] = escort
    response = await post_booking(client, uuid.uuid4(), booking_body(offer, passengers=people))
    await assert_problem(response, 422, field=field)
    assert await db.fetchval("SELECT count(*) FROM bookings") == 0


# Exit rows -------------------------------------------------------------------------------


@pytest.fixture
async def seated_world(db: asyncpg.Connection, search_world: dict[str, int]) -> dict[str, int]:
    """The search world with an A320 seat map (exits at rows 11 and 12) on every flight."""
    await add_aircraft_cabins(db)
    await db.execute("UPDATE flights SET aircraft_type = '32N'")
    return search_world


async def test_children_and_adults_holding_an_infant_get_no_exit_row_seat(
    client: TestClient, db: asyncpg.Connection, seated_world: dict[str, int]
) -> None:
    flight = seated_world["jfk_lhr"]
    offer = await offer_for(client, passengers={"adults": 2, "children": 1, "infants": 1})
    people = [adult(), adult(given="Bea"), _person("child", "Cy", DAY - timedelta(days=2000)),
              _person("infant", "Ivy", DAY - timedelta(days=100), accompanied_by=1)]  # fmt: skip

    def seats(*chosen: tuple[int, str]) -> list[dict[str, Any]]:
        return [{"flight_id": flight, "passenger": p, "seat": s} for p, s in chosen]

    for passenger in (1, 2):  # the adult with the infant, then the child
        response = await post_booking(client, uuid.uuid4(), booking_body(
            offer, passengers=people, seats=seats((passenger, "11A")),
        ))  # fmt: skip
        body = await assert_problem(response, 422, field="body.seats[0].seat")
        assert body["type"].endswith("exit-row-restricted")
    assert await db.fetchval("SELECT count(*) FROM bookings") == 0

    user = uuid.uuid4()
    booking = await book(client, user, booking_body(
        offer, passengers=people, seats=seats((0, "11A"), (1, "3A"), (2, "3B")),
    ))  # fmt: skip
    assert booking["segments"][0]["seats"][0] == {"passenger_no": 1, "seat": "11A"}

    # A seat change keeps to the same rule.
    quote = await client.post(
        f"/v1/bookings/{booking['id']}/change-quotes",
        json={"change": {"type": "seats", "seats": seats((2, "12C"))}}, headers=bearer(user),
    )  # fmt: skip
    await assert_problem(quote, 422, field="body.change.seats[0].seat")
    allowed = await client.post(
        f"/v1/bookings/{booking['id']}/change-quotes",
        json={"change": {"type": "seats", "seats": seats((0, "12C"))}}, headers=bearer(user),
    )  # fmt: skip
    assert allowed.status == 201, await allowed.text()
