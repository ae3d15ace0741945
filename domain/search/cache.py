"""Cached itineraries of hot slices, dropped when any of their flights changes.

Entries are keyed by what determines a slice's itineraries (route, local date,
cabin, seats needed, connections) and list the flights they contain. Change
events of the realtime pipeline (a flight's schedule, status, fare or seats)
drop every entry containing the flight. A TTL bounds the rest (new legs are
not events). An entry computed while one of its flights changed is not stored:
the computation may have read the old state.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from domain.search.itineraries import Itinerary

SliceKey = tuple[str, str, str, str, int, int]  # origin, destination, date, cabin, seats, stops
# The catch-up barrier (setup.py): True once every change committed before the search has
# been applied to the caches, False if the change stream is too far behind to wait for.
CatchUp = Callable[[], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class CachedSlice:
    itineraries: tuple[Itinerary, ...]
    complete: bool
    stored_at: float


class SearchCache(Protocol):
    """Where cached slices live; both kinds are invalidated by the change stream."""

    hits: int
    misses: int
    invalidations: int

    async def get(self, key: SliceKey, catch_up: CatchUp | None = None) -> CachedSlice | None:
        """The entry, if any; with ``catch_up``, only if it is still held once that has
        returned True (run only when there is an entry to serve)."""

    async def put(
        self, key: SliceKey, itineraries: list[Itinerary], complete: bool, since: int
    ) -> bool: ...

    def flight_changed(self, flight_id: int, event_id: int) -> None: ...

    async def settle(self) -> None:
        """Wait until invalidations already heard are applied."""

    def size(self) -> int | None:
        """Entries held, when known locally."""

    async def close(self) -> None: ...


class ChangeLedger:
    """Flight -> latest change event seen: the guard against storing stale results."""

    def __init__(self) -> None:
        self._changed: dict[int, tuple[int, float]] = {}

    def record(self, flight_id: int, event_id: int) -> None:
        now = time.monotonic()
        self._changed[flight_id] = (event_id, now)
        if len(self._changed) > 200_000:
            # Only computations still running can race; they last seconds, not minutes.
            horizon = now - 60
            self._changed = {k: v for k, v in self._changed.items() if v[1] >= horizon}

    def changed_since(self, flights: set[int], since: int) -> bool:
        for flight_id in flights:
            changed = self._changed.get(flight_id)
            if changed is not None and changed[0] > since:
                return True
        return False


def flights_of(itineraries: list[Itinerary]) -> set[int]:
    return {leg.id for itinerary in itineraries for leg in itinerary.legs}


class MemorySearchCache:
    """In-process LRU with event-driven invalidation."""

    def __init__(self, *, max_entries: int = 20_000, ttl_seconds: float = 120.0) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[SliceKey, CachedSlice] = OrderedDict()
        self._by_flight: dict[int, set[SliceKey]] = {}
        self._ledger = ChangeLedger()
        self.hits = 0
        self.misses = 0
        self.invalidations = 0

    async def get(self, key: SliceKey, catch_up: CatchUp | None = None) -> CachedSlice | None:
        entry = self._live(key)
        if entry is not None and catch_up is not None:
            # Catching up may apply a change that drops this very entry.
            entry = self._live(key) if await catch_up() else None
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def _live(self, key: SliceKey) -> CachedSlice | None:
        entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry.stored_at > self.ttl_seconds:
            self._drop(key)
            return None
        return entry

    async def put(
        self, key: SliceKey, itineraries: list[Itinerary], complete: bool, since: int
    ) -> bool:
        """Store unless a flight of the result changed after event ``since``; True if stored."""
        flights = flights_of(itineraries)
        if self.max_entries == 0 or self._ledger.changed_since(flights, since):
            return False
        if key in self._entries:
            self._drop(key)
        self._entries[key] = CachedSlice(tuple(itineraries), complete, time.monotonic())
        for flight_id in flights:
            self._by_flight.setdefault(flight_id, set()).add(key)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))
        return True

    def flight_changed(self, flight_id: int, event_id: int) -> None:
        self._ledger.record(flight_id, event_id)
        for key in self._by_flight.pop(flight_id, ()):
            if key in self._entries:
                self.invalidations += 1
                self._drop(key)

    def _drop(self, key: SliceKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for itinerary in entry.itineraries:
            for leg in itinerary.legs:
                keys = self._by_flight.get(leg.id)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._by_flight[leg.id]

    def size(self) -> int | None:
        return len(self._entries)

    async def settle(self) -> None:
        return None  # invalidation is synchronous here

    async def close(self) -> None:
        self._entries.clear()
        self._by_flight.clear()


def hit_ratio(cache: SearchCache) -> float:
    total = cache.hits + cache.misses
    return cache.hits / total if total else 0.0


def flights_in_topics(topics: tuple[str, ...]) -> set[int]:
    """Flight ids named by an event's topics (flight:{id}, inventory:{id})."""
    ids = set()
    for topic in topics:
        kind, _, key = topic.partition(":")
        if kind in ("flight", "inventory") and key.isdigit():
            ids.add(int(key))
    return ids


class ResponseCache:
    """Whole answers to identical requests, kept seconds, dropped with any of their flights.

    In front of the slice cache: a repeated search (the same route, filters, page and
    currency, as a page refresh or a popular route sends) skips pricing, combination and
    serialisation entirely. Answers are kept as the response's bytes: a few objects per
    entry instead of a model graph of hundreds, which the cyclic garbage collector would
    walk on every full collection. Per process; short-lived, so offer expiries stay fresh.
    """

    def __init__(self, *, max_entries: int = 5_000, ttl_seconds: float = 30.0) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[str, tuple[float, bytes, frozenset[int]]] = OrderedDict()
        self._by_flight: dict[int, set[str]] = {}
        self._ledger = ChangeLedger()
        self.hits = 0

    async def get(self, key: str, catch_up: CatchUp | None = None) -> bytes | None:
        """The answer, if any; with ``catch_up``, only if it is still held once that has
        returned True (run only when there is an answer to serve)."""
        body = self._live(key)
        if body is not None and catch_up is not None:
            # Catching up may apply a change that drops this very answer.
            body = self._live(key) if await catch_up() else None
        if body is None:
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return body

    def _live(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() - entry[0] > self.ttl_seconds:
            self._drop(key)
            return None
        return entry[1]

    def put(self, key: str, body: bytes, flights: set[int], since: int) -> None:
        if self.max_entries == 0 or self._ledger.changed_since(flights, since):
            return
        self._drop(key)
        self._entries[key] = (time.monotonic(), body, frozenset(flights))
        for flight_id in flights:
            self._by_flight.setdefault(flight_id, set()).add(key)
        while len(self._entries) > self.max_entries:
            self._drop(next(iter(self._entries)))

    def flight_changed(self, flight_id: int, event_id: int) -> None:
        self._ledger.record(flight_id, event_id)
        for key in self._by_flight.pop(flight_id, ()):
            self._drop(key)

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for flight_id in entry[2]:
            keys = self._by_flight.get(flight_id)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_flight[flight_id]
