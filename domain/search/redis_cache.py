"""Cached slices in Redis, shared by every instance (REDIS_URL).

Layout: ``skybound:search:slice:<key>`` holds a slice's itineraries;
``skybound:search:flight:<id>`` is the set of slice keys containing the
flight. Every instance hears every change event from its own listener and
drops the slices of the changed flight with one atomic script, so an instance
never serves what another cached before a change.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from datetime import UTC, datetime

import orjson
import redis.asyncio as redis
from redis.exceptions import RedisError

from domain.search.cache import CachedSlice, CatchUp, ChangeLedger, SliceKey, flights_of
from domain.search.itineraries import Itinerary, Leg

log = logging.getLogger(__name__)

PREFIX = "skybound:search:"

# Drop a flight's slices and the flight's set in one step, whoever runs it first.
_INVALIDATE = """
local keys = redis.call('SMEMBERS', KEYS[1])
for _, key in ipairs(keys) do redis.call('DEL', key) end
redis.call('DEL', KEYS[1])
return #keys
"""


def _slice_key(key: SliceKey) -> str:
    digest = hashlib.sha256(orjson.dumps(key)).hexdigest()[:32]
    return f"{PREFIX}slice:{digest}"


def _flight_key(flight_id: int) -> str:
    return f"{PREFIX}flight:{flight_id}"


def _encode(itineraries: list[Itinerary], complete: bool) -> bytes:
    return orjson.dumps({
        "complete": complete,
        "itineraries": [
            [[leg.id, leg.carrier, leg.number, leg.origin, leg.destination,
              leg.departure.timestamp(), leg.arrival.timestamp(), leg.aircraft, leg.seats,
              leg.fare_minor, leg.currency] for leg in itinerary.legs]
            for itinerary in itineraries
        ],
    })  # fmt: skip


def _leg(fields: list[object]) -> Leg:
    (flight_id, carrier, number, origin, destination, departure, arrival, aircraft, seats,
     fare, currency) = fields  # fmt: skip
    return Leg(
        id=int(flight_id),  # type: ignore[call-overload]
        carrier=str(carrier),
        number=int(number),  # type: ignore[call-overload]
        origin=str(origin),
        destination=str(destination),
        departure=datetime.fromtimestamp(float(departure), UTC),  # type: ignore[arg-type]
        arrival=datetime.fromtimestamp(float(arrival), UTC),  # type: ignore[arg-type]
        aircraft=None if aircraft is None else str(aircraft),
        seats=int(seats),  # type: ignore[call-overload]
        fare_minor=int(fare),  # type: ignore[call-overload]
        currency=str(currency),
    )


class RedisSearchCache:
    def __init__(self, client: redis.Redis, *, ttl_seconds: float = 120.0) -> None:
        self.client = client
        self.ttl = max(1, int(ttl_seconds))
        self._ledger = ChangeLedger()
        self._invalidate = client.register_script(_INVALIDATE)
        self._pending: set[asyncio.Task[None]] = set()
        self.hits = 0
        self.misses = 0
        self.invalidations = 0
        self.errors = 0

    async def get(self, key: SliceKey, catch_up: CatchUp | None = None) -> CachedSlice | None:
        name = _slice_key(key)
        raw = await self._read(name)
        if raw is not None and catch_up is not None:
            # Catching up may apply a change that drops this very entry: read it again.
            raw = await self._read(name) if await catch_up() else None
        if raw is None:
            self.misses += 1
            return None
        data = orjson.loads(raw)
        itineraries = tuple(
            Itinerary(tuple(_leg(fields) for fields in legs)) for legs in data["itineraries"]
        )
        self.hits += 1
        return CachedSlice(itineraries, bool(data["complete"]), time.monotonic())

    async def _read(self, name: str) -> bytes | str | None:
        try:
            raw: bytes | str | None = await self.client.get(name)
        except RedisError as exc:
            # The cache is an optimisation: without Redis, searches still answer.
            self.errors += 1
            log.warning("search cache unavailable", extra={"error": repr(exc)})
            return None
        return raw

    async def put(
        self, key: SliceKey, itineraries: list[Itinerary], complete: bool, since: int
    ) -> bool:
        flights = flights_of(itineraries)
        if self._ledger.changed_since(flights, since):
            return False
        name = _slice_key(key)
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.set(name, _encode(itineraries, complete), ex=self.ttl)
                for flight_id in flights:
                    pipe.sadd(_flight_key(flight_id), name)
                    pipe.expire(_flight_key(flight_id), self.ttl)
                await pipe.execute()
        except RedisError as exc:
            self.errors += 1
            log.warning("search cache store failed", extra={"error": repr(exc)})
            return False
        # A change that arrived while storing would have found no set to clear yet.
        if self._ledger.changed_since(flights, since):
            for flight_id in flights:
                await self._drop(flight_id)
            return False
        return True

    def flight_changed(self, flight_id: int, event_id: int) -> None:
        self._ledger.record(flight_id, event_id)
        task = asyncio.create_task(self._drop(flight_id))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _drop(self, flight_id: int) -> None:
        try:
            dropped = await self._invalidate(keys=[_flight_key(flight_id)])
            self.invalidations += int(dropped)
        except RedisError as exc:
            self.errors += 1
            log.warning("search cache invalidation failed", extra={"error": repr(exc)})
        except Exception:
            # A fire-and-forget task: nobody awaits it, so say it here or never.
            self.errors += 1
            log.exception("search cache invalidation failed unexpectedly")

    async def settle(self) -> None:
        """Wait for invalidations in flight (tests, shutdown)."""
        if self._pending:
            await asyncio.gather(*tuple(self._pending), return_exceptions=True)

    def size(self) -> int | None:
        return None  # Redis holds the entries

    async def close(self) -> None:
        await self.settle()
        await self.client.aclose()
