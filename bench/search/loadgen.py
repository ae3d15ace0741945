"""The load generator: POST /v1/search for every search of a mix file, N at a time.

Runs in its own process on uvloop with one aiohttp session: ``--concurrency``
tasks take the next search of the file in turn, so at most that many requests
are in flight. Each response is read whole and only looked at, not parsed
(``total_offers`` and ``complete`` are found by a byte search near the end), to
leave the shared cores to the server.

    python -m bench.search.loadgen --url http://127.0.0.1:P/v1/search --mix FILE \\
        --concurrency 16 --out results.json [--fresh-connections] [--timeout 10]

Writes ``{"wall": s, "cpu": s, "results": [[index, status, seconds, offers, complete]]}``;
status is the HTTP status, or -1 for a client timeout and -2 for a connection error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import uvloop

from bench.harness.load import CONNECTION_ERROR, TIMEOUT, own_cpu

_TOTAL = re.compile(rb'"total_offers":(\d+)')
_HEADERS = {"Content-Type": "application/json"}

Result = tuple[int, int, float, int, bool]


def _summary(body: bytes) -> tuple[int, bool]:
    tail = body[-512:]
    match = _TOTAL.search(tail)
    return (int(match[1]) if match else -1), b'"complete":true' in tail


async def run(
    url: str, searches: Sequence[tuple[int, bytes]], concurrency: int, limit: float, fresh: bool
) -> tuple[float, list[Result]]:
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=fresh)
    client_timeout = aiohttp.ClientTimeout(total=limit)
    results: list[Result] = []
    pending = iter(searches)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:

        async def client() -> None:
            for index, body in pending:
                started = time.perf_counter()
                offers, complete = -1, False
                try:
                    async with session.post(url, data=body, headers=_HEADERS) as response:
                        data = await response.read()
                        status = response.status
                    if status == 200:
                        offers, complete = _summary(data)
                except TimeoutError:
                    status = TIMEOUT
                except aiohttp.ClientError:
                    status = CONNECTION_ERROR
                results.append((index, status, time.perf_counter() - started, offers, complete))

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return wall, results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search.loadgen")
    parser.add_argument("--url", required=True, help="the /v1/search URL")
    parser.add_argument("--mix", type=Path, required=True, help="JSON lines: index, body")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    parser.add_argument(
        "--fresh-connections",
        action="store_true",
        help="a new connection per request (spreads requests over SO_REUSEPORT workers)",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    searches = []
    for line in args.mix.read_text().splitlines():
        item = json.loads(line)
        searches.append((int(item["index"]), json.dumps(item["body"]).encode()))
    before = own_cpu()
    wall, results = uvloop.run(
        run(args.url, searches, args.concurrency, args.timeout, args.fresh_connections)
    )
    cpu = own_cpu() - before
    args.out.write_text(json.dumps({"wall": wall, "cpu": cpu, "results": results}))
    ok = sum(1 for r in results if r[1] == 200)
    print(f"{len(results)} searches in {wall:.2f} s, {ok} answered 200", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
