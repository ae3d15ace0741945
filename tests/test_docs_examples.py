"""The HTTP examples in docs/bookings.md, run in order against the app: they must succeed."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiohttp.test_utils import TestClient

from tests.booking_helpers import offer_for
from tests.factories import add_aircraft_cabins
from tests.search_world import DAY, NEW_YORK, at, leg, search
from tests.tokens import access_token

BOOKINGS_DOC = Path(__file__).parent.parent / "docs" / "bookings.md"
_EXAMPLE = re.compile(r"^```http\n(.*?)^```", re.MULTILINE | re.DOTALL)
_PLACEHOLDER = re.compile(r"<([a-z ]+)>")


def http_examples(markdown: str) -> list[str]:
    """The text of each fenced ``http`` block, in document order."""
    return [match.group(1) for match in _EXAMPLE.finditer(markdown)]


def _request(example: str, values: dict[str, str]) -> tuple[str, str, dict[str, str], Any]:
    """Method, path, headers and JSON body of an example, its placeholders filled in."""
    text = _PLACEHOLDER.sub(lambda m: values[m.group(1)], example)
    head, _, body = text.partition("\n\n")
    request_line, *header_lines = head.splitlines()
    method, path = request_line.split(" ", 1)
    headers = dict(line.split(": ", 1) for line in header_lines)
    headers.pop("Content-Type", None)  # the client sets it for a JSON body
    return method, path, headers, orjson.loads(body) if body.strip() else None


async def _offer_on(client: TestClient, flight_id: int) -> dict[str, Any]:
    results = await search(
        client, slices=[{"origin": "JFK", "destination": "LHR", "date": DAY.isoformat()}]
    )
    for offer in results["offers"]:
        flights = [seg["flight_id"] for s in offer["slices"] for seg in s["segments"]]
        if flights == [flight_id] and offer["fare"]["brand"] == "Standard":
            return dict(offer)
    raise AssertionError("no Standard offer on that flight")


def test_the_bookings_doc_has_request_examples_for_each_step() -> None:
    paths = [ex.splitlines()[0] for ex in http_examples(BOOKINGS_DOC.read_text())]
    assert paths == [
        "POST /v1/bookings",
        *["POST /v1/bookings/<booking id>/change-quotes"] * 3,
        "POST /v1/bookings/<booking id>/changes",
    ]


async def test_the_bookings_doc_examples_succeed_against_the_app(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    await add_aircraft_cabins(db)
    await db.execute("UPDATE flights SET aircraft_type = '32N'")
    later = await leg(db, "JFK", "LHR", at(DAY, "22:30", NEW_YORK), 420, number=9)
    values = {
        "access token": access_token(uuid.uuid4()),
        "offer id": (await offer_for(client, brand="Standard"))["id"],
        "another offer id": (await _offer_on(client, later))["id"],
        "flight id": str(search_world["jfk_lhr"]),
    }
    for example in http_examples(BOOKINGS_DOC.read_text()):
        method, path, headers, body = _request(example, values)
        response = await client.request(method, path, headers=headers, json=body)
        assert 200 <= response.status < 300, f"{method} {path}: {await response.text()}"
        answer = await response.json()
        if path == "/v1/bookings":
            values["booking id"] = answer["id"]
        elif path.endswith("/change-quotes"):
            values["quote id"] = answer["id"]
