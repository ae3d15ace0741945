"""The booking load generator: its own process, uvloop, one aiohttp session.

Two modes, both read from a plan file the driver writes:

- ``throughput``: each client books one seat at a time on its own flight until the
  duration is up. Every booking has its own ``Idempotency-Key`` and passenger name.
  On 410 offer-expired or 409 price-changed the client searches again for its flight
  and books the fresh offer; on 409 sold-out it moves to its next spare flight (and
  stops when it has none).
- ``race``: every client first reads ``GET /v1/me`` (its profile exists and its
  connection is open before the race), then all of them post one booking of the
  same offer at once.

    python -m bench.booking.loadgen --plan PLAN.json --out RESULT.json

Writes ``{"wall": s, "cpu": s, "started": t0, "results": [[client, kind, status,
problem, start, end]]}``, times in seconds of ``time.perf_counter()`` relative to the
start of the measured part; ``kind`` is ``book`` or ``search``; ``status`` is the HTTP
status, or -1 for a client timeout and -2 for a connection error; ``problem`` is the
last part of the problem ``type`` of an error answer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import uvloop

from bench.harness.load import CONNECTION_ERROR, TIMEOUT, own_cpu

CARD = {
    "type": "card",
    "number": "4242424242424242",
    "exp_month": 12,
    "exp_year": 2030,
    "cvc": "123",
    "holder_name": "Bench Traveller",
}
LETTERS = "abcdefghijklmnopqrstuvwxyz"

Result = tuple[int, str, int, str, float, float]


def letters(n: int) -> str:
    """A name part from a number: passport names allow letters only."""
    out = ""
    while True:
        n, digit = divmod(n, 26)
        out = LETTERS[digit] + out
        if not n:
            return out.capitalize()


def booking_body(offer_id: str, client: int, serial: int) -> bytes:
    passenger = {
        "type": "adult",
        "given_name": "Bench" + letters(client).lower(),
        "family_name": "Traveller" + letters(serial).lower(),
        "date_of_birth": "1985-12-10",
    }
    body = {
        "offer_id": offer_id,
        "passengers": [passenger],
        "contact": {"email": f"bench-{client}@example.com"},
        "payment": CARD,
    }
    return json.dumps(body).encode()


def problem_of(status: int, data: bytes) -> str:
    if status < 400:
        return ""
    try:
        kind = str(json.loads(data).get("type", ""))
    except (ValueError, AttributeError):
        return "unparsed"
    return kind.rsplit("/", 1)[-1] or "untyped"


@dataclass
class Flight:
    flight_id: int
    search: dict[str, Any]
    offer_id: str | None


@dataclass
class Client:
    number: int
    token: str
    flights: list[Flight]
    serial: int = 0
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers = {
            "Authorization": f"Bearer {self.token}",
            "Content-Type": "application/json",
        }


class Load:
    def __init__(self, session: aiohttp.ClientSession, base: str, key_prefix: str) -> None:
        self.session = session
        self.base = base
        self.key_prefix = key_prefix
        self.results: list[Result] = []
        self.origin = time.perf_counter()

    def now(self) -> float:
        return time.perf_counter() - self.origin

    async def request(
        self,
        client: int,
        kind: str,
        method: str,
        path: str,
        body: bytes | None,
        headers: dict[str, str],
    ) -> tuple[int, bytes]:
        started = self.now()
        data = b""
        try:
            async with self.session.request(
                method, self.base + path, data=body, headers=headers
            ) as response:
                data = await response.read()
                status = response.status
        except TimeoutError:
            status = TIMEOUT
        except aiohttp.ClientError:
            status = CONNECTION_ERROR
        self.results.append((client, kind, status, problem_of(status, data), started, self.now()))
        return status, data

    async def search(self, client: Client, flight: Flight) -> bool:
        """A fresh offer for the client's flight; False when the search has none."""
        status, data = await self.request(
            client.number,
            "search",
            "POST",
            "/v1/search",
            json.dumps(flight.search).encode(),
            {"Content-Type": "application/json"},
        )
        flight.offer_id = None
        if status == 200:
            for offer in json.loads(data)["offers"]:
                segments = [s for part in offer["slices"] for s in part["segments"]]
                if [s["flight_id"] for s in segments] == [flight.flight_id]:
                    flight.offer_id = str(offer["id"])
                    break
        return flight.offer_id is not None

    async def book(self, client: Client, flight: Flight) -> tuple[int, str]:
        assert flight.offer_id is not None
        client.serial += 1
        headers = {
            **client.headers,
            "Idempotency-Key": f"{self.key_prefix}-{client.number}-{client.serial}",
        }
        body = booking_body(flight.offer_id, client.number, client.serial)
        status, data = await self.request(
            client.number, "book", "POST", "/v1/bookings", body, headers
        )
        return status, problem_of(status, data)


async def keep_booking(load: Load, client: Client, deadline: float) -> None:
    flights = list(client.flights)
    while flights and load.now() < deadline:
        flight = flights[0]
        if flight.offer_id is None and not await load.search(client, flight):
            flights.pop(0)
            continue
        _status, problem = await load.book(client, flight)
        if problem in ("offer-expired", "price-changed"):
            flight.offer_id = None
        elif problem in ("sold-out", "flight-not-bookable"):
            flights.pop(0)


async def throughput(load: Load, clients: Sequence[Client], duration: float) -> float:
    load.origin = time.perf_counter()
    await asyncio.gather(*(keep_booking(load, c, duration) for c in clients))
    return load.now()


async def race(load: Load, clients: Sequence[Client]) -> float:
    # Unmeasured: profiles exist, tokens are verified, every client holds an open
    # connection. Then every booking is sent at once.
    warm = await asyncio.gather(
        *(load.request(c.number, "warm", "GET", "/v1/me", None, c.headers) for c in clients)
    )
    bad = [status for status, _data in warm if status != 200]
    if bad:
        raise SystemExit(f"{len(bad)} warm-up reads failed: statuses {sorted(set(bad))}")
    load.results.clear()
    await asyncio.sleep(0.5)
    start = asyncio.Event()

    async def one(client: Client) -> None:
        await start.wait()
        await load.book(client, client.flights[0])

    tasks = [asyncio.ensure_future(one(c)) for c in clients]
    await asyncio.sleep(0)  # every task is now waiting on the event
    load.origin = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    return load.now()


async def run(plan: dict[str, Any]) -> tuple[float, list[Result]]:
    clients = [
        Client(
            c["number"],
            c["token"],
            [Flight(f["flight_id"], f["search"], f.get("offer_id")) for f in c["flights"]],
        )
        for c in plan["clients"]
    ]
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=plan["timeout"])
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        load = Load(session, plan["base"], plan["key_prefix"])
        if plan["mode"] == "race":
            wall = await race(load, clients)
        else:
            wall = await throughput(load, clients, plan["duration"])
    return wall, load.results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.booking.loadgen")
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    plan = json.loads(args.plan.read_text())
    before = own_cpu()
    wall, results = uvloop.run(run(plan))
    cpu = own_cpu() - before
    args.out.write_text(json.dumps({"wall": wall, "cpu": cpu, "results": results}))
    booked = sum(1 for r in results if r[1] == "book" and r[2] == 201)
    print(f"{plan['mode']}: {booked} bookings in {wall:.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
