"""Run: .venv/bin/python -m bench.auth.profile [--duration 2] [--connections 32] [--rounds 10]

Where an authenticated GET /v1/me spends its time, next to its no-auth twin. The
server runs in this process (uvloop, embedded PostgreSQL in a temporary home);
wrk loads it from outside. For each variant it reports:

- the server process's CPU per request (``time.process_time`` over the run,
  unprofiled): the cleanest figure on a shared machine, since another process's
  load does not add to it; PostgreSQL's own CPU is not included, which is fair
  because both twins run the same query;
- the SQL statements per request (asyncpg's ``add_query_logger`` on every pool
  connection counts them);
- under cProfile (a slower, second run): the cumulative time per request of the
  auth path's functions and the top functions by own time;
- ``authenticate()`` timed alone, per call, with the token's verification cached and
  with fresh tokens.

Besides the bench's three variants it runs the no-auth twin with the same bearer header
(ignored), to split what receiving a token costs from what checking it costs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from cryptography.hazmat.primitives.asymmetric import ec

from api.auth import authenticate, claims_key
from api.keys import pool_key, verifier_key
from bench.auth.load import (
    SECRET,
    Variant,
    es256_key,
    token,
    variant_result,
    variant_wrk_argv,
    variants,
)
from bench.auth.server import ES256_KID, bench_app, bench_settings, jwks_document
from bench.harness.load import wrk_missing
from bench.harness.postgres import bench_home
from bench.harness.servers import free_port, skybound_env

# Functions whose cumulative time per request the profile reports.
WATCHED = (
    ("api/auth.py", "authenticate"),
    ("domain/identity/tokens.py", "verify"),
    ("domain/identity/roles.py", "standing"),
    ("domain/profiles.py", "ensure_profile"),
    ("api/routes.py", "bound"),
    ("api/middleware.py", "request_context"),
)


async def _load(url: str, variant: Variant, seconds: float, connections: int) -> tuple[int, float]:
    process = await asyncio.create_subprocess_exec(
        *variant_wrk_argv(url + variant.path, variant.token, seconds, connections),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), seconds + 30)
    result = variant_result(out.decode(), err.decode())
    if result.errors:
        print(f"  ({variant.name}: {result.errors} wrk errors)")
    return result.requests, result.rps


class StatementCounter:
    """Counts the SQL statements every pool connection runs."""

    def __init__(self) -> None:
        self.queries: Counter[str] = Counter()

    def log(self, record: asyncpg.connection.LoggedQuery) -> None:
        self.queries[" ".join(record.query.split())[:80]] += 1

    async def attach(self, pool: asyncpg.Pool) -> None:
        """Log on every connection of the pool. Call before each run: the pool replaces
        a connection after 50,000 queries (asyncpg's max_queries), logger and all.
        Adding the logger to a connection that has it already changes nothing."""
        held = [await pool.acquire() for _ in range(pool.get_max_size())]
        for conn in held:
            conn.add_query_logger(self.log)
        for conn in held:
            await pool.release(conn)


async def _per_call_us(
    call: Callable[[], Awaitable[object]], calls: int, repeats: int = 5
) -> float:
    """The fastest of ``repeats`` timings of ``calls`` calls, in microseconds per call
    (the fastest is the one least disturbed by other processes)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            await call()
        best = min(best, time.perf_counter() - started)
    return best / calls * 1e6


async def authenticate_cost(
    app: web.Application, all_variants: list[Variant], es_key: ec.EllipticCurvePrivateKey
) -> None:
    """What ``authenticate`` itself costs per request: with the token's verification
    cached (every request after a client's first), and uncached (fresh tokens)."""
    print("\n| authenticate() | us per call |\n|---|---:|")
    for variant in all_variants[2:]:
        assert variant.token is not None
        request = make_mocked_request(
            "GET", "/v1/me", headers={"Authorization": f"Bearer {variant.token}"}, app=app
        )

        async def cached(request: web.Request = request) -> None:
            await authenticate(request)
            del request[claims_key]

        await cached()  # fills the caches
        per_call = await _per_call_us(cached, 20_000)
        print(f"| {variant.name}, verification cached | {per_call:.2f} |")
    verifier = app[verifier_key]
    signers: list[tuple[str, object, str, dict[str, str] | None]] = [
        ("HS256", SECRET, "HS256", None), ("ES256", es_key, "ES256", {"kid": ES256_KID}),
    ]  # fmt: skip
    for name, key, algorithm, headers in signers:
        fresh = iter([token(key, algorithm, headers, jti=str(n)) for n in range(2000)])

        async def uncached(fresh: Iterator[str] = fresh) -> None:
            await verifier.verify(next(fresh))

        per_call = await _per_call_us(uncached, 400)
        print(f"| {name}, first use of a token (signature checked) | {per_call:.1f} |")


async def run(args: argparse.Namespace) -> None:
    es_key, public_pem = es256_key()
    port = free_port()
    app = bench_app(bench_settings(port), jwks_document(public_pem.encode()))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    url = f"http://127.0.0.1:{port}"
    counter = StatementCounter()
    await counter.attach(app[pool_key])
    base, hs256, es256 = variants(es_key)
    # The twin again, carrying the same bearer header, which it ignores: splits what a
    # token costs to receive (a larger request) from what checking it costs.
    carried = Variant("no auth, HS256 header sent and ignored", base.path, hs256.token)
    all_variants = [base, carried, hs256, es256]
    try:
        for variant in all_variants:  # warm-up: profile row, JWKS, token and role caches
            await _load(url, variant, 2, args.connections)
        await authenticate_cost(app, all_variants, es_key)
        cpu: dict[str, list[float]] = {v.name: [] for v in all_variants}
        rps: dict[str, list[float]] = {v.name: [] for v in all_variants}
        statements: dict[str, float] = {}
        for round_no in range(args.rounds):
            shift = round_no % len(all_variants)
            for variant in all_variants[shift:] + all_variants[:shift]:
                await counter.attach(app[pool_key])
                counter.queries.clear()
                started = time.process_time()
                requests, rate = await _load(url, variant, args.duration, args.connections)
                used = time.process_time() - started
                cpu[variant.name].append(used / requests * 1e6)
                rps[variant.name].append(rate)
                statements[variant.name] = sum(counter.queries.values()) / requests
                if round_no == 0:
                    print(f"\n{variant.name}: statements run during the load")
                    for query, n in counter.queries.most_common(5):
                        print(f"  {n / requests:6.3f}/request  {query}")
        base_cpu = cpu[base.name]
        print("\n| variant | server CPU per request (median) | vs no auth (median of rounds) "
              "| SQL per request | requests/s (median) |")  # fmt: skip
        print("|---|---:|---:|---:|---:|")
        for variant in all_variants:
            us = statistics.median(cpu[variant.name])
            pairs = zip(cpu[variant.name], base_cpu, strict=True)
            paired = statistics.median(a / b for a, b in pairs)
            rate = statistics.median(rps[variant.name])
            print(f"| {variant.name} | {us:.0f} us | {paired:.3f} "
                  f"| {statements[variant.name]:.3f} | {rate:,.0f} |")  # fmt: skip

        for variant in all_variants:
            profiler = cProfile.Profile()
            profiler.enable()
            requests, _ = await _load(url, variant, args.duration, args.connections)
            profiler.disable()
            stats = pstats.Stats(profiler)
            print(f"\n## cProfile: {variant.name} ({requests:,} requests)")
            table = stats.stats  # type: ignore[attr-defined]
            for (file, _line, name), (_cc, _nc, _tt, ct, _callers) in table.items():
                for suffix, watched in WATCHED:
                    if file.endswith(suffix) and name == watched:
                        print(
                            f"  {suffix}:{name}: {ct / requests * 1e6:8.1f} us/request cumulative"
                        )
            own = sorted(table.items(), key=lambda item: item[1][2], reverse=True)[: args.top]
            print("  top own time:")
            for (file, line, name), (_cc, nc, tt, _ct, _callers) in own:
                short = file.split("site-packages/")[-1].replace(str(Path.cwd()) + "/", "")
                print(f"  {tt / requests * 1e6:8.1f} us/request  {nc / requests:5.2f} calls  "
                      f"{short}:{line}({name})")  # fmt: skip
    finally:
        await runner.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.auth.profile")
    parser.add_argument("--duration", type=int, default=2, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=10, help="rounds of all variants")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    missing = wrk_missing("bench.auth.profile")
    if missing:
        print(missing)
        return 2
    import uvloop

    with bench_home(None) as (home, _owned):
        # The server runs in this process: it reads its settings from this environment.
        env = skybound_env(home, SUPABASE_JWT_SECRET=SECRET)
        os.environ.clear()
        os.environ.update(env)
        uvloop.run(run(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
