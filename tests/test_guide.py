"""docs/guide.md, executed: every request in it is sent to a real server, in order, and
every response must be what the guide shows (tests/guide_runner.py says how to read it)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

import tests.guide_runner as guide
from domain.identity.accounts import passwords
from tests.factories import add_aircraft_cabins, add_brands, add_cabin, add_flight, add_world
from tests.search_world import NEW_YORK
from tests.tokens import ANON_KEY

GUIDE = Path(__file__).parent.parent / "docs" / "guide.md"


def test_the_guide_walks_through_every_step() -> None:
    steps = [exchange.title for exchange in guide.exchanges(GUIDE.read_text())]
    assert steps[0] == "POST /auth/v1/signup"
    for step in ("POST /v1/search", "GET /v1/flights/<flight id>/seatmap",
                 "POST /v1/flights/<flight id>/seat-holds", "POST /v1/me/payment-methods",
                 "POST /v1/bookings", "GET /v1/streams/me?ticket=<ticket>",
                 "POST /v1/bookings/<booking id>/check-in", "POST /v1/sync/pull",
                 "POST /v1/sync/push", "POST /v1/bookings/<booking id>/cancellations"):  # fmt: skip
        assert step in steps


async def test_every_exchange_of_the_guide_happens_as_shown(
    client: TestClient, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Real argon2id at its cheapest: the guide signs up for real.
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))
    # A flight tomorrow morning, so that check-in (open from 24 hours before) is open now.
    soon = (datetime.now(UTC) + timedelta(hours=20)).replace(minute=0, second=0, microsecond=0)
    departure = soon.astimezone(NEW_YORK)
    await add_world(db)
    await add_brands(db, "SB")
    await add_aircraft_cabins(db)
    flight = await add_flight(db, origin="JFK", destination="BOS", departure=departure,
                              block=timedelta(minutes=75), number=101,
                              aircraft_type="32N")  # fmt: skip
    await add_cabin(db, flight, capacity=180, fare_minor=9000)
    values: dict[str, object] = {
        "anon key": ANON_KEY,
        "departure date": departure.date().isoformat(),
        "client time": f"{int(time.time() * 1000)}:0000:phone-1",
    }
    base_url = str(client.make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as session:
        for exchange in guide.exchanges(GUIDE.read_text()):
            problems = await guide.run(session, base_url, exchange, values)
            assert problems == [], f"{exchange.title}: {problems}"
