"""Topic names, what each one's snapshot is, and who may subscribe.

``board:{IATA}:departures|arrivals``, ``flight:{id}`` and ``seats:{flight_id}``
are public; ``user:{uuid}`` is private to that user.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Container
from dataclasses import dataclass
from typing import Literal

import asyncpg
import orjson

from domain.airports import get_airport
from domain.boards import board
from domain.flights import get_flight
from domain.seating import flight_layout, seat_map
from foundation.errors import InvalidInput

_BOARD = re.compile(r"^board:([A-Z]{3}):(departures|arrivals)$")
_FLIGHT = re.compile(r"^flight:([1-9][0-9]{0,18})$")
_SEATS = re.compile(r"^seats:([1-9][0-9]{0,18})$")
_USER = re.compile(r"^user:([0-9a-f-]{36})$")

Snapshot = Callable[[], Awaitable[bytes]]


class InvalidTopic(InvalidInput):
    slug = "invalid-topic"
    title = "Unknown topic"


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    kind: Literal["board", "flight", "seats", "user"]
    key: str
    board_kind: Literal["departures", "arrivals"] | None = None

    @property
    def private_to(self) -> uuid.UUID | None:
        return uuid.UUID(self.key) if self.kind == "user" else None


def board_topic(iata: str, kind: Literal["departures", "arrivals"]) -> Topic:
    return Topic(f"board:{iata}:{kind}", "board", iata, kind)


def flight_topic(flight_id: int) -> Topic:
    return Topic(f"flight:{flight_id}", "flight", str(flight_id))


def seats_topic(flight_id: int) -> Topic:
    return Topic(f"seats:{flight_id}", "seats", str(flight_id))


def user_topic(user_id: uuid.UUID) -> Topic:
    return Topic(f"user:{user_id}", "user", str(user_id))


def parse_topic(name: str) -> Topic:
    if match := _BOARD.match(name):
        return board_topic(match[1], match[2])  # type: ignore[arg-type]
    if (match := _FLIGHT.match(name)) and int(match[1]) < 2**63:
        return flight_topic(int(match[1]))
    if (match := _SEATS.match(name)) and int(match[1]) < 2**63:
        return seats_topic(int(match[1]))
    if match := _USER.match(name):
        try:
            return user_topic(uuid.UUID(match[1]))
        except ValueError:
            pass
    raise InvalidTopic(
        "Topics are board:{IATA}:departures|arrivals, flight:{id}, seats:{flight_id} or "
        "user:{uuid}.",
        topic=name,
    )


_USER_BOOKINGS = """
SELECT id, record_locator, status, version, updated_at
FROM bookings WHERE user_id = $1 ORDER BY created_at DESC LIMIT 200
"""


async def snapshot_for(
    topic: Topic, pool: asyncpg.Pool, known_airports: Container[str] = ()
) -> Snapshot:
    """Check the topic's subject exists (404 otherwise) and return its snapshot builder.

    ``known_airports`` (the in-memory reference data) spares a query per board
    subscription when ten thousand boards reconnect; an airport not in it is looked
    up in the database, which stays the authority.
    """
    if topic.kind == "board":
        iata = topic.key
        if iata not in known_airports:
            iata = (await get_airport(pool, topic.key)).iata
        assert topic.board_kind is not None
        kind = topic.board_kind

        async def board_snapshot() -> bytes:
            return (await board(pool, iata, kind)).model_dump_json().encode()

        return board_snapshot
    if topic.kind == "flight":
        flight_id = int(topic.key)
        await get_flight(pool, flight_id)

        async def flight_snapshot() -> bytes:
            return (await get_flight(pool, flight_id)).model_dump_json().encode()

        return flight_snapshot
    if topic.kind == "seats":
        flight_id = int(topic.key)
        await flight_layout(pool, flight_id)

        async def seat_map_snapshot() -> bytes:
            # Shared by every subscriber, so nobody's holds are marked as their own.
            return (await seat_map(pool, flight_id)).model_dump_json().encode()

        return seat_map_snapshot
    user_id = uuid.UUID(topic.key)

    async def user_snapshot() -> bytes:
        rows = await pool.fetch(_USER_BOOKINGS, user_id)
        bookings = [{**dict(row), "id": str(row["id"])} for row in rows]
        return orjson.dumps({"user_id": str(user_id), "bookings": bookings})

    return user_snapshot
