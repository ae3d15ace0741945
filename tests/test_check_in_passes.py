"""Boarding passes after check-in: the PDF and its barcode read back with a real reader,
and passes reaching devices through sync and live through /v1/streams/me."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import asyncpg
import pypdfium2 as pdfium
import pytest
import zxingcpp
from aiohttp.test_utils import TestClient

from domain.checkin.passes import BOARDING_BEGINS
from tests.bcbp import parse_bcbp
from tests.checkin_world import ADA, BABY, LUC, TOM, add_checkin_world, add_leg, add_trip, passport
from tests.problems import assert_problem
from tests.sse_client import SseReader
from tests.test_sync_devices import Device


@pytest.fixture
async def world(db: asyncpg.Connection) -> None:
    """Airports, Skybound Airways and an A320 seat map."""
    await add_checkin_world(db)


def soon(hours: float = 6) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours)


def read_pdf(data: bytes) -> tuple[str, list[zxingcpp.Barcode]]:
    """The text of a one-page PDF and the barcodes zxing-cpp finds on its rendered page."""
    document = pdfium.PdfDocument(data)
    try:
        assert len(document) == 1
        page = document[0]
        image = page.render(scale=3).to_pil()
        return page.get_textpage().get_text_range(), list(zxingcpp.read_barcodes(image))
    finally:
        document.close()


async def test_the_pdf_barcode_decodes_to_the_bcbp_field_by_field(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    departure = soon(5)
    flight = await add_leg(db, "JFK", "LHR", departure, number=117, departure_gate="B22",
                           departure_terminal="4")  # fmt: skip
    trip = await add_trip(db, [flight], [ADA, LUC], seats={(1, flight): "27F"})
    luc = passport(2, number="P7654321", nationality="FR", date_of_birth="1980-05-17",
                   gender="M")  # fmt: skip
    checked = await client.post(f"{trip.url}/check-in", json={"documents": [passport(), luc]},
                                headers=trip.headers())  # fmt: skip
    assert checked.status == 200, await checked.text()
    view = (await checked.json())["boarding_passes"][1]
    assert (view["passenger_no"], view["seat"], view["sequence"], view["zone"]) == (2, "27F", 2,
                                                                                  "3")  # fmt: skip

    response = await client.get(view["pdf_url"], headers=trip.headers())
    assert response.status == 200, await response.text()
    assert response.content_type == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        'inline; filename="boarding-pass-SB117-2.pdf"')  # fmt: skip
    text, codes = read_pdf(await response.read())
    (code,) = codes
    assert code.format == zxingcpp.BarcodeFormat.PDF417
    assert code.text == view["bcbp"]

    local = departure.astimezone(datetime.fromisoformat(view["departure"]["local"]).tzinfo)
    boards = local - BOARDING_BEGINS
    for expected in ("DESMARAIS/LUC", "SB117", "JFK", "LHR", "B22", f"{local:%H:%M}",
                     f"{boards:%H:%M}", "27F", "002", trip.record_locator, trip.tickets[1],
                     "Skybound Airways", "Boarding pass"):  # fmt: skip
        assert expected in text, expected

    fields = parse_bcbp(code.text)
    issued = date.today()
    assert (
        fields
        == {
            "format_code": "M",
            "legs": "1",
            "name": "DESMARAIS/LUC".ljust(20),
            "electronic_ticket": "E",
            "pnr": f"{trip.record_locator} ",
            "origin": "JFK",
            "destination": "LHR",
            "carrier": "SB ",
            "flight_number": "0117 ",
            "julian_date": f"{local.timetuple().tm_yday:03d}",
            "compartment": "Y",
            "seat": "027F",
            "sequence": "0002 ",
            "passenger_status": "1",  # checked in
            "conditional_size": fields["conditional_size"],
            "version": "6",
            "passenger_description": "0",  # adult
            "check_in_source": "W",
            "issuance_source": "W",
            "issue_date": f"{issued.year % 10}{issued.timetuple().tm_yday:03d}",
            "document_type": "B",
            "issuer": "SB ",
            "bag_tags": " " * 13,
            "bag_tags_2": " " * 13,
            "bag_tags_3": " " * 13,
            "airline_numeric_code": "901",
            "document_number": trip.tickets[1][3:],
            "selectee": "0",
            "documentation_verification": "1",  # international
            "marketing_carrier": "SB ",
            "ff_airline": "   ",
            "ff_number": " " * 16,
            "id_ad": " ",
            "free_baggage": "1PC",  # Standard includes one bag
            "fast_track": " ",
            "airline_use": "",
        }
    )
    assert int(fields["conditional_size"], 16) == len(code.text) - 60


async def test_child_and_infant_passes_say_so_and_an_undone_pass_is_gone(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    flight = await add_leg(db, "JFK", "BOS", soon())
    trip = await add_trip(db, [flight], [ADA, TOM, BABY])
    checked = await client.post(f"{trip.url}/check-in", json={}, headers=trip.headers())
    _, tom, ida = (await checked.json())["boarding_passes"]
    fields = parse_bcbp(tom["bcbp"])
    assert (fields["passenger_description"], fields["documentation_verification"]) == ("3", "0")
    # An infant travels on a lap: no seat, on the pass or in the barcode.
    fields = parse_bcbp(ida["bcbp"])
    assert (ida["seat"], ida["zone"], fields["seat"], fields["passenger_description"]) == (
        None, "5", "    ", "4")  # fmt: skip
    text, _ = read_pdf(await (await client.get(ida["pdf_url"], headers=trip.headers())).read())
    assert "On lap" in text
    # A carrier's screening marks a passenger as a selectee: the barcode says so.
    await db.execute("UPDATE check_ins SET selectee = true WHERE passenger_id = $1",
                     trip.passenger_ids[1])  # fmt: skip
    listed = await (await client.get(f"{trip.url}/boarding-passes", headers=trip.headers())).json()
    assert [parse_bcbp(p["bcbp"])["selectee"] for p in listed["boarding_passes"]] == ["0", "1", "0"]
    undo = await client.delete(f"{trip.url}/check-in?passengers=2", headers=trip.headers())
    assert undo.status == 204
    gone = await client.get(tom["pdf_url"], headers=trip.headers())
    await assert_problem(gone, 404)


async def test_passes_reach_devices_through_sync_and_streams_me_live(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    flight = await add_leg(db, "JFK", "BOS", soon())
    trip = await add_trip(db, [flight], [ADA])
    device = Device(client, trip.owner_id)
    await device.pull()
    assert device.records("boarding_passes") == {}
    stream = SseReader(await client.get("/v1/streams/me", headers=trip.headers()))
    assert (await stream.next()).event == "snapshot"

    checked = await client.post(f"{trip.url}/check-in", json={}, headers=trip.headers())
    (issued,) = (await checked.json())["boarding_passes"]
    poke = await stream.next()
    assert poke.event == "boarding_pass.issued"
    key = f"{trip.passenger_ids[0]}:{flight}"
    assert poke.json()["boarding_pass"] == {
        "booking_id": str(trip.booking_id), "passenger_id": str(trip.passenger_ids[0]),
        "flight_id": flight, "segment_no": 1, "status": "checked_in", "version": 1,
    }  # fmt: skip

    changes = await device.pull()
    assert [(c["collection"], c["id"], c["op"]) for c in changes] == [
        ("boarding_passes", key, "upsert")]  # fmt: skip
    record = device.records("boarding_passes")[key]
    assert record["bcbp"] == issued["bcbp"]
    assert (record["seat"], record["sequence"]) == (issued["seat"], 1)
    assert "gate" not in record  # live in the flights collection

    # A seat change after check-in shows on the pass (a booking event re-sends it).
    await db.execute("UPDATE seat_assignments SET seat = '9D' WHERE passenger_id = $1",
                     trip.passenger_ids[0])  # fmt: skip
    await db.execute("UPDATE bookings SET contact_phone = '+15550100' WHERE id = $1",
                     trip.booking_id)  # fmt: skip
    await stream.next()
    await device.pull()
    assert parse_bcbp(device.records("boarding_passes")[key]["bcbp"])["seat"] == "009D"

    undo = await client.delete(f"{trip.url}/check-in", headers=trip.headers())
    assert undo.status == 204
    assert (await stream.next()).event == "boarding_pass.undone"
    changes = await device.pull()
    assert [(c["collection"], c["op"], c["version"]) for c in changes] == [
        ("boarding_passes", "delete", 2)]  # fmt: skip
    assert device.records("boarding_passes") == {}
    stream.response.close()


async def test_a_cancelled_booking_takes_its_passes_off_devices(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    flight = await add_leg(db, "JFK", "BOS", soon())
    trip = await add_trip(db, [flight], [ADA])
    assert (await client.post(f"{trip.url}/check-in", json={},
                              headers=trip.headers())).status == 200  # fmt: skip
    device = Device(client, trip.owner_id)
    await device.pull()
    assert len(device.records("boarding_passes")) == 1
    await db.execute("UPDATE bookings SET status = 'cancelled', cancelled_at = now() WHERE id = $1",
                     trip.booking_id)  # fmt: skip
    await device.pull()
    assert device.records("boarding_passes") == {}
    listed = await client.get(f"{trip.url}/boarding-passes", headers=trip.headers())
    assert (await listed.json())["boarding_passes"] == []
    # Offloaded, whoever cancelled: the flight's checked-in count no longer has them.
    assert await db.fetchval("SELECT status FROM check_ins WHERE booking_id = $1",
                             trip.booking_id) == "undone"  # fmt: skip
    assert await db.fetchval(
        "SELECT event_type FROM change_events WHERE entity = 'boarding_pass' ORDER BY id DESC"
    ) == "boarding_pass.undone"  # fmt: skip


async def test_a_flight_changed_away_offloads_its_passenger(
    client: TestClient, db: asyncpg.Connection, world: None
) -> None:
    first = await add_leg(db, "BOS", "JFK", soon(3), number=10)
    second = await add_leg(db, "JFK", "LAX", soon(6), number=20)
    trip = await add_trip(db, [first, second], [ADA])
    assert (await client.post(f"{trip.url}/check-in", json={},
                              headers=trip.headers())).status == 200  # fmt: skip
    await db.execute("DELETE FROM booking_segments WHERE booking_id = $1 AND segment_no = 2",
                     trip.booking_id)  # fmt: skip
    rows = await db.fetch("SELECT flight_id, status FROM check_ins ORDER BY flight_id")
    assert [(r["flight_id"], r["status"]) for r in rows] == [
        (first, "checked_in"), (second, "undone")]  # fmt: skip
    listed = await client.get(f"{trip.url}/boarding-passes", headers=trip.headers())
    assert [p["designator"] for p in (await listed.json())["boarding_passes"]] == ["SB10"]
