"""The fixed search mix: real routes of the seeded schedule, drawn with ``random.Random(seed)``.

Routes come from the database, not from the generator's code, so the mix fits
whatever ``skybound seed`` produced. Three kinds of airport pair are used:

- *direct*: some leg flies it;
- *one-stop*: no leg flies it, but A→H→B does at route level (spoke→hub→spoke);
- *two-stop*: neither, but A→H1→H2→B does (spoke→hub→hub→spoke).

Categories (shares of the mix):

- ``one_way_1``: one-way, ``max_connections`` 1, half direct pairs, half one-stop pairs;
- ``round_trip``: the same pairs, two mirrored slices 1 to 14 days apart, ``max_connections`` 1;
- ``one_way_2``: one-way, ``max_connections`` 2, half two-stop pairs (they need the middle-leg
  query), half direct or one-stop pairs;
- ``three_slice``: three chained slices A→B→C→D (direct or one-stop each), 2 to 5 days apart,
  ``max_connections`` 1.

Dates are the origin's local dates, from two days after today (no time zone has a date
two days ahead) to 25 days before the schedule ends (room for returns and chains).
Passengers, cabin and currency vary a little, as real traffic does.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

ONE_WAY_1 = "one_way_1"
ROUND_TRIP = "round_trip"
ONE_WAY_2 = "one_way_2"
THREE_SLICE = "three_slice"
CATEGORIES = (ONE_WAY_1, ROUND_TRIP, ONE_WAY_2, THREE_SLICE)
SHARES = {ONE_WAY_1: 0.4, ROUND_TRIP: 0.3, ONE_WAY_2: 0.2, THREE_SLICE: 0.1}
LABELS = {
    ONE_WAY_1: "one-way ≤1 stop",
    ROUND_TRIP: "round trip",
    ONE_WAY_2: "one-way ≤2 stops",
    THREE_SLICE: "three-slice",
}

Pair = tuple[str, str]

_ROUTES = "SELECT origin, destination FROM flights GROUP BY origin, destination"
_DATES = "SELECT min(service_date), max(service_date) FROM flights"


@dataclass(frozen=True)
class Network:
    """The seeded route graph and the local dates a search may ask for."""

    direct: frozenset[Pair]
    one_stop: tuple[Pair, ...]
    two_stop: tuple[Pair, ...]
    first_date: date
    last_date: date

    @property
    def direct_sorted(self) -> tuple[Pair, ...]:
        return tuple(sorted(self.direct))


@dataclass(frozen=True)
class Search:
    index: int
    category: str
    body: dict[str, Any]

    def slice_keys(self) -> list[tuple[str, str, str, str, int, int]]:
        """The server's cache keys of this search's slices (see domain/search/cache.py)."""
        pax = self.body["passengers"]
        seats = pax.get("adults", 1) + pax.get("children", 0)
        return [
            (s["origin"], s["destination"], s["date"], self.body["cabin"], seats,
             self.body["max_connections"])
            for s in self.body["slices"]
        ]  # fmt: skip


def _reachable(direct: set[Pair]) -> tuple[list[Pair], list[Pair]]:
    out: dict[str, set[str]] = {}
    for origin, destination in direct:
        out.setdefault(origin, set()).add(destination)
    one: set[Pair] = set()
    for a, hubs in out.items():
        for h in hubs:
            for b in out.get(h, ()):
                if b != a and (a, b) not in direct:
                    one.add((a, b))
    two: set[Pair] = set()
    for a, firsts in out.items():
        for h1 in firsts:
            for h2 in out.get(h1, ()):
                if h2 == a:
                    continue
                for b in out.get(h2, ()):
                    if b not in (a, h1) and (a, b) not in direct and (a, b) not in one:
                        two.add((a, b))
    return sorted(one), sorted(two)


async def load_network(conn: asyncpg.Connection, today: date | None = None) -> Network:
    direct = {(r["origin"], r["destination"]) for r in await conn.fetch(_ROUTES)}
    if not direct:
        raise ValueError("no flights in the database: seed it first")
    one, two = _reachable(direct)
    low, high = await conn.fetchrow(_DATES)
    today = today or datetime.now(UTC).date()
    first = max(low, today) + timedelta(days=2)
    last = high - timedelta(days=25)
    if last < first:
        raise ValueError(f"the schedule ({low}..{high}) is too short or in the past for a mix")
    return Network(frozenset(direct), tuple(one), tuple(two), first, last)


class _Draw:
    def __init__(self, network: Network, seed: int) -> None:
        self.net = network
        self.rng = random.Random(seed)
        self.direct = network.direct_sorted
        self.span = (network.last_date - network.first_date).days

    def day(self) -> date:
        return self.net.first_date + timedelta(days=self.rng.randint(0, self.span))

    def near_pair(self) -> Pair:
        """Half direct, half one-stop."""
        pool = (
            self.direct if self.rng.random() < 0.5 or not self.net.one_stop else self.net.one_stop
        )
        return self.rng.choice(pool)

    def far_pair(self) -> Pair:
        """Half two-stop, half direct or one-stop."""
        if self.net.two_stop and self.rng.random() < 0.5:
            return self.rng.choice(self.net.two_stop)
        return self.near_pair()

    def next_from(self, origin: str, avoid: set[str]) -> str | None:
        """A destination reachable from ``origin`` directly or with one stop."""
        reach = [d for o, d in self.direct if o == origin and d not in avoid]
        reach += [d for o, d in self.net.one_stop if o == origin and d not in avoid]
        return self.rng.choice(sorted(set(reach))) if reach else None

    def extras(self) -> dict[str, Any]:
        roll = self.rng.random()
        if roll < 0.80:
            passengers = {"adults": 1}
        elif roll < 0.95:
            passengers = {"adults": 2}
        else:
            passengers = {"adults": 2, "children": 1}
        cabin = "business" if self.rng.random() < 0.1 else "economy"
        roll = self.rng.random()
        currency = "USD" if roll < 0.8 else ("EUR" if roll < 0.9 else "GBP")
        return {"passengers": passengers, "cabin": cabin, "currency": currency}

    def search(self, index: int, category: str) -> Search:
        def piece(pair: Pair, on: date) -> dict[str, str]:
            return {"origin": pair[0], "destination": pair[1], "date": on.isoformat()}

        on = self.day()
        if category == ONE_WAY_1:
            slices, stops = [piece(self.near_pair(), on)], 1
        elif category == ROUND_TRIP:
            a, b = self.near_pair()
            back = on + timedelta(days=self.rng.randint(1, 14))
            slices, stops = [piece((a, b), on), piece((b, a), back)], 1
        elif category == ONE_WAY_2:
            slices, stops = [piece(self.far_pair(), on)], 2
        else:
            slices, stops = self._chain(on), 1
        body = {"slices": slices, "max_connections": stops, **self.extras()}
        return Search(index, category, body)

    def _chain(self, on: date) -> list[dict[str, str]]:
        for _ in range(1000):
            a, b = self.near_pair()
            c = self.next_from(b, {a, b})
            d = self.next_from(c, {b, c}) if c else None
            if c and d:
                break
        else:
            raise ValueError("no chain of three routes found in the seeded network")
        second = on + timedelta(days=self.rng.randint(2, 5))
        third = second + timedelta(days=self.rng.randint(2, 5))
        return [
            {"origin": x, "destination": y, "date": when.isoformat()}
            for (x, y), when in (((a, b), on), ((b, c), second), ((c, d), third))
        ]


def counts(total: int) -> dict[str, int]:
    """Searches per category: the shares of ``total``, rounding given to the largest share."""
    per = {c: int(total * SHARES[c]) for c in CATEGORIES}
    per[ONE_WAY_1] += total - sum(per.values())
    return per


def build_mix(network: Network, total: int, seed: int) -> list[Search]:
    """``total`` searches in the fixed shares, in a shuffled but reproducible order."""
    draw = _Draw(network, seed)
    categories = [c for c, n in counts(total).items() for _ in range(n)]
    draw.rng.shuffle(categories)
    return [draw.search(i, category) for i, category in enumerate(categories)]


def resorted(mix: Sequence[Search], variation: int = 0) -> list[Search]:
    """The same searches sorted by price: the same slices, but not the same answers.

    ``variation`` adds a filter that removes nothing (no slice takes a week), so that each
    variation is a request no response cache has seen while the slices stay the same.
    """
    extra = {"sort": "price", "filters": {"max_duration_minutes": 7 * 24 * 60 - variation}}
    return [Search(s.index, s.category, {**s.body, **extra}) for s in mix]


def subset(mix: Sequence[Search], total: int) -> list[Search]:
    """The first searches of each category, in the same shares, in mix order."""
    wanted = counts(total)
    chosen = []
    for search in mix:
        if wanted[search.category] > 0:
            wanted[search.category] -= 1
            chosen.append(search)
    return chosen
