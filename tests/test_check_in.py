"""Online check-in: the window, seats, sequence numbers, documents, undo and who may."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from api.keys import check_in_key, pool_key, vault_key
from domain.checkin.errors import CheckInClosed, CheckInNotOpen
from domain.checkin.models import CheckInRequest
from domain.checkin.travel_documents import TravelDocumentInput, open_document
from domain.profiles import erase_user_data
from tests.bcbp import parse_bcbp
from tests.checkin_world import (
    ADA,
    LUC,
    TOM,
    add_checkin_world,
    add_leg,
    add_trip,
    bearer,
    passport,
)
from tests.factories import add_aircraft, add_aircraft_cabins
from tests.problems import assert_problem

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
async def world(db: asyncpg.Connection) -> None:
    """Airports, Skybound Airways and an A320 seat map."""
    await add_checkin_world(db)


def soon(hours: float = 6) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours)


# Checking in ------------------------------------------------------------------------------


async def test_check_in_issues_passes_with_the_chosen_seat_a_free_one_and_sequence_numbers(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    flight = await add_leg(db, "JFK", "BOS", soon(), departure_gate="B7")
    trip = await add_trip(db, [flight], [ADA, LUC, TOM], seats={(0, flight): "14C"})
    response = await client.post(f"{trip.url}/check-in", json={}, headers=trip.headers())
    assert response.status == 200, await response.text()
    body = await response.json()
    passes = body["boarding_passes"]
    assert [(p["passenger_no"], p["segment_no"]) for p in passes] == [(1, 1), (2, 1), (3, 1)]
    # Ada keeps her seat; Luc gets the first free seat in front; Tom (a child) too, never
    # an exit row.
    assert [p["seat"] for p in passes] == ["14C", "1A", "1B"]
    assert [p["sequence"] for p in passes] == [1, 2, 3]
    first = passes[0]
    assert (first["gate"], first["designator"], first["zone"]) == ("B7", "SB100", "4")
    assert first["ticket_number"] == trip.tickets[0]
    departure = datetime.fromisoformat(first["departure"]["utc"])
    boarding = datetime.fromisoformat(first["boarding_time"]["utc"])
    assert departure - boarding == timedelta(minutes=40)
    assert first["pdf_url"] == f"{trip.url}/boarding-passes/1/1.pdf"
    fields = parse_bcbp(first["bcbp"])
    assert (fields["seat"], fields["sequence"], fields["passenger_status"]) == (
        "014C", "0001 ", "1")  # fmt: skip
    assert await db.fetchval(
        "SELECT count(*) FROM seat_assignments WHERE flight_id = $1", flight) == 3  # fmt: skip

    listed = await client.get(f"{trip.url}/boarding-passes", headers=trip.headers())
    assert (await listed.json()) == body

    # Checking in again changes nothing: no new sequence numbers, no new seats.
    again = await client.post(f"{trip.url}/check-in", json={}, headers=trip.headers())
    assert (await again.json()) == body


async def test_no_boarding_pass_before_check_in(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    flight = await add_leg(db, "JFK", "BOS", soon())
    trip = await add_trip(db, [flight])
    listed = await client.get(f"{trip.url}/boarding-passes", headers=trip.headers())
    assert (await listed.json())["boarding_passes"] == []
    pdf = await client.get(f"{trip.url}/boarding-passes/1/1.pdf", headers=trip.headers())
    body = await assert_problem(pdf, 404)
    assert body["type"].endswith("/boarding-pass-not-found")


async def test_chosen_passengers_and_segments_only(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    first = await add_leg(db, "BOS", "JFK", soon(5), number=10)
    second = await add_leg(db, "JFK", "LAX", soon(8), number=20)
    trip = await add_trip(db, [first, second], [ADA, LUC])
    response = await client.post(f"{trip.url}/check-in", json={"passengers": [2], "segments": [2]},
                                 headers=trip.headers())  # fmt: skip
    assert response.status == 200, await response.text()
    passes = (await response.json())["boarding_passes"]
    assert [(p["passenger_no"], p["segment_no"], p["designator"]) for p in passes] == [
        (2, 2, "SB20")]  # fmt: skip
    bad = await client.post(f"{trip.url}/check-in", json={"passengers": [1, 3]},
                            headers=trip.headers())  # fmt: skip
    await assert_problem(bad, 422, field="body.passengers.1")
    bad = await client.post(f"{trip.url}/check-in", json={"segments": [0]},
                            headers=trip.headers())  # fmt: skip
    await assert_problem(bad, 422, field="body.segments.0")


# The window -------------------------------------------------------------------------------


async def test_the_window_is_judged_in_instants_across_a_dst_change(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    """New York springs forward at 02:00 on 14 March 2027. A flight leaving JFK at 10:00
    EDT that day opens for check-in 24 hours earlier, which is 09:00 EST on the 13th (not
    10:00, as local-time arithmetic would say), and closes at 09:00 EDT (60 minutes; an
    international flight)."""
    departure = datetime(2027, 3, 14, 10, 0, tzinfo=NEW_YORK)
    flight = await add_leg(db, "JFK", "LHR", departure)
    trip = await add_trip(db, [flight])
    service = client.app[check_in_key]
    request = CheckInRequest(documents=[TravelDocumentInput(**passport())])
    user, roles = trip.owner_id, ()

    opens = datetime(2027, 3, 13, 9, 0, tzinfo=NEW_YORK)
    assert opens.utcoffset() == timedelta(hours=-5)
    # Python subtracts wall clocks within one zone; the window is 24 hours of real time.
    assert departure.astimezone(UTC) - opens.astimezone(UTC) == timedelta(hours=24)
    with pytest.raises(CheckInNotOpen) as not_open:
        await service.check_in(trip.booking_id, request, user, roles,
                               now=opens - timedelta(seconds=1))  # fmt: skip
    assert not_open.value.extensions["opens_at"] == "2027-03-13T14:00:00+00:00"
    checked = await service.check_in(trip.booking_id, request, user, roles, now=opens)
    assert len(checked.boarding_passes) == 1
    await service.undo(trip.booking_id, None, None, user, roles, now=opens)

    closes = datetime(2027, 3, 14, 9, 0, tzinfo=NEW_YORK)
    assert closes.utcoffset() == timedelta(hours=-4)
    await service.check_in(trip.booking_id, request, user, roles,
                           now=closes - timedelta(seconds=1))  # fmt: skip
    with pytest.raises(CheckInClosed) as closed:
        await service.undo(trip.booking_id, None, None, user, roles, now=closes)
    assert closed.value.extensions["closed_at"] == "2027-03-14T13:00:00+00:00"
    await service.undo(trip.booking_id, None, None, user, roles,
                       now=closes - timedelta(seconds=1))  # fmt: skip
    with pytest.raises(CheckInClosed):
        await service.check_in(trip.booking_id, request, user, roles, now=closes)


async def test_a_domestic_flight_closes_45_minutes_before_and_carriers_set_the_opening(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    """New York falls back at 02:00 on 7 November 2027: a 07:00 EST departure that day
    opens 24 hours before, at 08:00 EDT on the 6th; 48 hours before (the carrier's setting
    changed) at 08:00 EDT on the 5th; and closes at 06:15 EST, 45 minutes before."""
    departure = datetime(2027, 11, 7, 7, 0, tzinfo=NEW_YORK)
    flight = await add_leg(db, "JFK", "BOS", departure)
    trip = await add_trip(db, [flight])
    service = client.app[check_in_key]
    request, user = CheckInRequest(), trip.owner_id

    opens = datetime(2027, 11, 6, 8, 0, tzinfo=NEW_YORK)
    with pytest.raises(CheckInNotOpen):
        await service.check_in(trip.booking_id, request, user, (),
                               now=opens - timedelta(seconds=1))  # fmt: skip
    await db.execute("UPDATE airlines SET check_in_opens_hours = 48 WHERE code = 'SB'")
    earlier = datetime(2027, 11, 5, 8, 0, tzinfo=NEW_YORK)
    with pytest.raises(CheckInNotOpen):
        await service.check_in(trip.booking_id, request, user, (),
                               now=earlier - timedelta(seconds=1))  # fmt: skip
    await service.check_in(trip.booking_id, request, user, (), now=earlier)
    await service.undo(trip.booking_id, None, None, user, (), now=earlier)

    closes = datetime(2027, 11, 7, 6, 15, tzinfo=NEW_YORK)
    await service.check_in(trip.booking_id, request, user, (),
                           now=closes - timedelta(seconds=1))  # fmt: skip
    with pytest.raises(CheckInClosed):
        await service.undo(trip.booking_id, None, None, user, (), now=closes)


async def test_check_in_outside_the_window_is_a_409_problem(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    later = await add_leg(db, "JFK", "BOS", soon(30), number=1)
    closing = await add_leg(db, "JFK", "BOS", soon(0.5), number=2)
    for flight, slug in ((later, "check-in-not-open"), (closing, "check-in-closed")):
        trip = await add_trip(db, [flight])
        response = await client.post(f"{trip.url}/check-in", json={}, headers=trip.headers())
        body = await assert_problem(response, 409)
        assert body["type"].endswith(slug)


async def test_cancelled_or_departed_flights_and_cancelled_bookings_are_refused(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    for number, status in enumerate(("cancelled", "departed"), 1):
        flight = await add_leg(db, "JFK", "BOS", soon(), number=number, status=status)
        trip = await add_trip(db, [flight])
        response = await client.post(f"{trip.url}/check-in", json={"segments": [1]},
                                     headers=trip.headers())  # fmt: skip
        body = await assert_problem(response, 409)
        assert body["type"].endswith("/flight-not-checkable")
        assert body["flight_status"] == status
    flight = await add_leg(db, "JFK", "BOS", soon(), number=7)
    trip = await add_trip(db, [flight])
    await db.execute("UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE id = $1",
                     trip.booking_id)  # fmt: skip
    response = await client.post(f"{trip.url}/check-in", json={}, headers=trip.headers())
    body = await assert_problem(response, 409)
    assert body["type"].endswith("/booking-not-checkable")


# Who may ----------------------------------------------------------------------------------


async def test_the_owner_agents_and_admins_may_check_in_and_nobody_else(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    flight = await add_leg(db, "JFK", "BOS", soon())
    trip = await add_trip(db, [flight], [ADA, LUC])
    stranger = await client.post(f"{trip.url}/check-in", json={}, headers=bearer(uuid.uuid4()))
    body = await assert_problem(stranger, 404)
    assert body["type"].endswith("/booking-not-found")
    ops = await client.post(f"{trip.url}/check-in", json={},
                            headers=bearer(uuid.uuid4(), "ops"))  # fmt: skip
    await assert_problem(ops, 404)
    await assert_problem(await client.post(f"{trip.url}/check-in", json={}), 401)
    agent = await client.post(f"{trip.url}/check-in", json={"passengers": [1]},
                              headers=bearer(uuid.uuid4(), "agent"))  # fmt: skip
    assert agent.status == 200, await agent.text()
    admin = await client.post(f"{trip.url}/check-in", json={"passengers": [2]},
                              headers=bearer(uuid.uuid4(), "admin"))  # fmt: skip
    assert admin.status == 200, await admin.text()
    assert len((await admin.json())["boarding_passes"]) == 2


# Races ------------------------------------------------------------------------------------


async def test_two_check_ins_race_for_the_last_free_seat_and_one_gets_it(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    """A four-seat aircraft with three seats taken: both travellers check in at once; one
    is seated, the other is told there is no seat, and no seat is given twice."""
    await add_aircraft(db, "E4S")
    await add_aircraft_cabins(db, "E4S", (("economy", 1, 2, "A B", (), ()),))
    flight = await add_leg(db, "JFK", "BOS", soon(), seat_map=False)
    await db.execute("UPDATE flights SET aircraft_type = 'E4S' WHERE id = $1", flight)
    await add_trip(db, [flight], [ADA, LUC, TOM],
                   seats={(0, flight): "1A", (1, flight): "1B", (2, flight): "2A"})  # fmt: skip
    rivals = [await add_trip(db, [flight], [LUC]) for _ in range(2)]

    responses = await asyncio.gather(*(
        client.post(f"{trip.url}/check-in", json={}, headers=trip.headers()) for trip in rivals
    ))  # fmt: skip
    statuses = sorted(r.status for r in responses)
    assert statuses == [200, 409], [await r.text() for r in responses]
    winner = next(r for r in responses if r.status == 200)
    assert [p["seat"] for p in (await winner.json())["boarding_passes"]] == ["2B"]
    loser = next(r for r in responses if r.status == 409)
    body = await assert_problem(loser, 409)
    assert body["type"].endswith("/no-seat-available")
    seats = await db.fetch("SELECT seat FROM seat_assignments WHERE flight_id = $1", flight)
    assert sorted(r["seat"] for r in seats) == ["1A", "1B", "2A", "2B"]
    assert await db.fetchval(
        "SELECT count(*) FROM check_ins WHERE flight_id = $1", flight) == 1  # fmt: skip


async def test_sequence_numbers_are_unique_per_flight_under_concurrency(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    flight = await add_leg(db, "JFK", "BOS", soon(), seat_map=False)
    other = await add_leg(db, "JFK", "BOS", soon(), number=200, seat_map=False)
    trips = [await add_trip(db, [flight, other] if n % 2 else [flight], [ADA, LUC])
             for n in range(8)]  # fmt: skip
    responses = await asyncio.gather(*(
        client.post(f"{trip.url}/check-in", json={}, headers=trip.headers()) for trip in trips
    ))  # fmt: skip
    assert [r.status for r in responses] == [200] * 8
    rows = await db.fetch("SELECT flight_id, sequence_no FROM check_ins ORDER BY checked_in_at")
    on_flight = sorted(r["sequence_no"] for r in rows if r["flight_id"] == flight)
    on_other = sorted(r["sequence_no"] for r in rows if r["flight_id"] == other)
    assert on_flight == list(range(1, 17))
    assert on_other == list(range(1, 9))
    # What the barcodes say: every pass of the flight has its own number.
    codes = [p["bcbp"] for r in responses for p in (await r.json())["boarding_passes"]]
    sequences = [parse_bcbp(c)["sequence"] for c in codes if parse_bcbp(c)["flight_number"]
                 == "0100 "]  # fmt: skip
    assert sorted(sequences) == [f"{n:04d} " for n in range(1, 17)]
    # No seat map: the seat is given at the gate.
    assert {parse_bcbp(c)["seat"] for c in codes} == {"    "}


# Undo -------------------------------------------------------------------------------------


async def test_undo_withdraws_the_pass_frees_a_given_seat_and_keeps_a_chosen_one(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    flight = await add_leg(db, "JFK", "BOS", soon())
    trip = await add_trip(db, [flight], [ADA, LUC], seats={(0, flight): "14C"})
    checked = await client.post(f"{trip.url}/check-in", json={}, headers=trip.headers())
    assert checked.status == 200
    undo = await client.delete(f"{trip.url}/check-in?passengers=1,2", headers=trip.headers())
    assert undo.status == 204, await undo.text()
    listed = await client.get(f"{trip.url}/boarding-passes", headers=trip.headers())
    assert (await listed.json())["boarding_passes"] == []
    seats = await db.fetch("SELECT seat FROM seat_assignments WHERE flight_id = $1", flight)
    assert [r["seat"] for r in seats] == ["14C"]
    assert await db.fetchval("SELECT count(*) FROM check_ins WHERE status = 'undone'") == 2

    again = await client.delete(f"{trip.url}/check-in", headers=trip.headers())
    body = await assert_problem(again, 409)
    assert body["type"].endswith("/not-checked-in")
    bad = await client.delete(f"{trip.url}/check-in?segments=x", headers=trip.headers())
    await assert_problem(bad, 422, field="query.segments.0")

    # A seat check-in gave, then changed by the passenger to one they chose, stays theirs.
    given = await client.post(f"{trip.url}/check-in", json={"passengers": [2]},
                              headers=trip.headers())  # fmt: skip
    assert [p["seat"] for p in (await given.json())["boarding_passes"]] == ["1A"]
    await db.execute("UPDATE seat_assignments SET seat = '15F' WHERE passenger_id = $1",
                     trip.passenger_ids[1])  # fmt: skip
    assert (await client.delete(f"{trip.url}/check-in", headers=trip.headers())).status == 204
    seats = await db.fetch("SELECT seat FROM seat_assignments WHERE flight_id = $1", flight)
    assert sorted(r["seat"] for r in seats) == ["14C", "15F"]

    # Checked in again: new sequence numbers, never reused.
    redo = await client.post(f"{trip.url}/check-in", json={"passengers": [2]},
                             headers=trip.headers())  # fmt: skip
    assert [p["sequence"] for p in (await redo.json())["boarding_passes"]] == [4]


# Travel documents -------------------------------------------------------------------------


async def test_international_flights_need_valid_documents_and_errors_name_the_field(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    flight = await add_leg(db, "JFK", "LHR", soon())
    trip = await add_trip(db, [flight], [ADA, LUC])
    url, headers = f"{trip.url}/check-in", trip.headers()

    missing = await client.post(url, json={"documents": [passport()]}, headers=headers)
    body = await assert_problem(missing, 422, field="body.documents")
    assert body["type"].endswith("/invalid-travel-document")
    assert "Passenger 2" in body["errors"][0]["message"]

    cases = [
        (passport(nationality="ZZ"), "body.documents.0.nationality"),
        (passport(expires_on=soon(1).date().isoformat()), "body.documents.0.expires_on"),
        (passport(date_of_birth="1985-12-11"), "body.documents.0.date_of_birth"),
        (passport(passenger_no=3), "body.documents.0.passenger_no"),
        (passport(number="x12"), "body.documents.0.number"),
        (passport(gender="Q"), "body.documents.0.gender"),
        (passport(document_type="visa"), "body.documents.0.document_type"),
    ]
    luc = passport(2, number="P7654321", nationality="FR", date_of_birth="1980-05-17",
                   gender="M")  # fmt: skip
    for document, field in cases:
        response = await client.post(url, json={"documents": [document, luc]}, headers=headers)
        await assert_problem(response, 422, field=field)
    assert await db.fetchval("SELECT count(*) FROM travel_documents") == 0
    assert await db.fetchval("SELECT count(*) FROM check_ins") == 0

    done = await client.post(url, json={"documents": [passport(), luc]}, headers=headers)
    assert done.status == 200, await done.text()
    fields = parse_bcbp((await done.json())["boarding_passes"][0]["bcbp"])
    assert fields["documentation_verification"] == "1"

    # Stored sealed: the number is not in the row, and opens for the passenger only.
    row = await db.fetchrow("SELECT * FROM travel_documents WHERE passenger_id = $1",
                            trip.passenger_ids[1])  # fmt: skip
    assert (row["document_type"], row["expires_on"].isoformat()) == ("passport", "2035-01-31")
    assert b"P7654321" not in row["ciphertext"]
    opened = await open_document(db, client.app[vault_key], trip.passenger_ids[1])
    assert opened == {"number": "P7654321", "nationality": "FR", "date_of_birth": "1980-05-17",
                      "gender": "M"}  # fmt: skip

    # Kept for the booking: undo and check in again without sending them.
    assert (await client.delete(url, headers=headers)).status == 204
    again = await client.post(url, json={}, headers=headers)
    assert again.status == 200, await again.text()


async def test_travel_documents_are_exported_in_clear_parts_and_erased_with_the_account(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    flight = await add_leg(db, "JFK", "LHR", soon())
    trip = await add_trip(db, [flight])
    other = await add_trip(db, [flight], [LUC])
    luc = passport(number="P7654321", date_of_birth="1980-05-17")
    for booking, document in ((trip, passport()), (other, luc)):
        response = await client.post(f"{booking.url}/check-in", json={"documents": [document]},
                                     headers=booking.headers())  # fmt: skip
        assert response.status == 200, await response.text()
    export = await (await client.get("/v1/me/export", headers=trip.headers())).json()
    assert export["travel_documents"] == [{
        "booking_id": str(trip.booking_id), "passenger_no": 1, "document_type": "passport",
        "expires_on": "2035-01-31", "updated_at": export["travel_documents"][0]["updated_at"],
    }]  # fmt: skip
    await erase_user_data(client.app[pool_key], trip.owner_id)
    kept = await db.fetch("SELECT passenger_id FROM travel_documents")
    assert [r["passenger_id"] for r in kept] == [other.passenger_ids[0]]


async def test_every_status_of_the_check_in_routes_is_documented(client: TestClient) -> None:
    spec = await (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    check_in = paths["/v1/bookings/{booking_id}/check-in"]
    assert set(check_in["post"]["responses"]) == {"200", "400", "401", "404", "409", "413", "415",
                                                  "422", "429", "503"}  # fmt: skip
    assert set(check_in["delete"]["responses"]) == {"204", "401", "404", "409", "422", "429",
                                                    "503"}  # fmt: skip
    conflicts = check_in["post"]["responses"]["409"]["description"]
    for title in ("Check-in is not open yet", "Check-in is closed", "No free seat to assign"):
        assert title in conflicts
    pdf = paths["/v1/bookings/{booking_id}/boarding-passes/{segment_no}/{passenger_no}.pdf"]
    assert "application/pdf" in pdf["get"]["responses"]["200"]["content"]
    assert set(pdf["get"]["responses"]) == {"200", "401", "404", "422", "429", "503"}


async def test_check_in_moves_the_flight_coupon_and_undo_moves_it_back(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    flight = await add_leg(db, "JFK", "BOS", soon())
    trip = await add_trip(db, [flight], [ADA, LUC])

    async def coupons() -> list[str]:
        rows = await db.fetch(
            "SELECT status FROM ticket_coupons WHERE ticket_number = ANY($1::text[])"
            " ORDER BY ticket_number",
            list(trip.tickets),
        )
        return [r["status"] for r in rows]

    assert await coupons() == ["open", "open"]
    response = await client.post(f"{trip.url}/check-in", json={"passengers": [1]},
                                 headers=trip.headers())  # fmt: skip
    assert response.status == 200, await response.text()
    assert await coupons() == ["checked_in", "open"]
    undo = await client.delete(f"{trip.url}/check-in?passengers=1", headers=trip.headers())
    assert undo.status == 204, await undo.text()
    assert await coupons() == ["open", "open"]
