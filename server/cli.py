"""The ``skybound`` command: serve, demo, migrate, seed, simulate, import and export."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Coroutine, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from foundation.settings import RealtimeTable, Settings
from server import backup_commands, data_commands, docs_commands
from server.workers import WorkerPool, serve_one

log = logging.getLogger("skybound")

DEMO_FLIGHTS = 20_000
DEMO_DAYS = 14


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - Windows
        return asyncio.run(coro)
    return uvloop.run(coro)


@contextlib.contextmanager
def resolved_database(settings: Settings) -> Iterator[Settings]:
    """Settings with a database URL: the configured one, or an embedded server's."""
    if settings.database_url is not None:
        yield settings
        return
    from foundation.embedded import embedded_postgres

    with embedded_postgres(settings.home) as url:
        yield settings.with_database(url)


async def _migrate(url: str) -> list[int]:
    from foundation.database import connect
    from foundation.migrator import migrate

    conn = await connect(url, application_name="skybound-migrate")
    try:
        return await migrate(conn)
    finally:
        await conn.close()


# --- serve ---------------------------------------------------------------------


def serve(settings: Settings) -> int:
    from foundation.extras import missing_extras
    from foundation.logs import configure_logging

    missing = missing_extras(settings)
    if missing:
        print("skybound: cannot start:\n" + "\n".join(missing), file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    with resolved_database(settings) as resolved:
        if resolved.auto_migrate:
            applied = _run(_migrate(resolved.database_url or ""))
            if applied:
                log.info("migrations applied", extra={"versions": applied})
        # Workers find the schema in place; they need not take the migration lock.
        resolved = resolved.model_copy(update={"auto_migrate": False})
        log.info(
            "serving",
            extra={"url": f"http://{resolved.host}:{resolved.port}", "workers": resolved.workers},
        )
        if resolved.workers == 1:
            serve_one(resolved, reuse_port=False)
            return 0
        return WorkerPool(resolved).run()


# --- seed, simulate, migrate ---------------------------------------------------------


async def _seed(
    url: str, *, flights: int, days: int, seed: int, start: date | None, replace: bool
) -> Any:
    from devtools.seed import seed_database
    from foundation.database import connect

    conn = await connect(url, application_name="skybound-seed")
    try:
        return await seed_database(
            conn, flights=flights, days=days, seed=seed, start_date=start, replace=replace
        )
    finally:
        await conn.close()


async def _reference(url: str) -> None:
    from devtools.seed import load_reference_data
    from foundation.database import connect

    conn = await connect(url, application_name="skybound-seed")
    try:
        await load_reference_data(conn)
    finally:
        await conn.close()


async def _simulate(url: str, *, seed: int, speed: float, interval: float) -> None:
    from devtools.simulator import Simulator
    from foundation.database import create_pool

    pool = await create_pool(url, min_size=1, max_size=2, application_name="skybound-simulator")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await Simulator(pool, seed=seed, speed=speed).run(stop, interval=interval)
    finally:
        await pool.close()


def _simulate_process(url: str, seed: int, speed: float, interval: float) -> None:
    from foundation.logs import configure_logging

    configure_logging("INFO", "text")
    with contextlib.suppress(KeyboardInterrupt):
        _run(_simulate(url, seed=seed, speed=speed, interval=interval))


async def _flight_count(url: str) -> int:
    from foundation.database import connect

    conn = await connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM flights"))
    finally:
        await conn.close()


async def _api_keys(url: str, settings: Settings) -> tuple[str, str]:
    from domain.identity.api_keys import load_api_keys
    from foundation.database import create_pool
    from server.contexts import jwt_secret

    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        keys = await load_api_keys(settings, pool, await jwt_secret(settings, pool))
    finally:
        await pool.close()
    return keys.anon, keys.service_role


REALTIME_TABLES: tuple[RealtimeTable, ...] = ("flights", "airports", "bookings", "booking_segments")


def demo(settings: Settings, *, speed: float) -> int:
    """Migrate, seed a small schedule if empty, run the simulator and the server."""
    import multiprocessing

    from foundation.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format)
    with resolved_database(settings) as resolved:
        url = resolved.database_url or ""
        _run(_migrate(url))
        if _run(_flight_count(url)) == 0:
            print(f"Seeding a demo schedule of {DEMO_FLIGHTS:,} flights...", flush=True)
            report = _run(
                _seed(
                    url,
                    flights=DEMO_FLIGHTS,
                    days=DEMO_DAYS,
                    seed=1,
                    start=datetime.now(UTC).date() - timedelta(days=1),
                    replace=False,
                )
            )
            print(f"Seeded {report.flights:,} flights in {report.seconds:.1f} s.", flush=True)
        simulator = multiprocessing.get_context("spawn").Process(
            target=_simulate_process, args=(url, 1, speed, 1.0), name="skybound-simulator"
        )
        simulator.start()
        base = f"http://{resolved.host}:{resolved.port}"
        if resolved.smtp_host is None and resolved.mail_directory is None:
            # No mail server: the demo's mail (a booking's confirmation, flight news)
            # lands as .eml files to open in any mail client.
            resolved = resolved.model_copy(update={"mail_directory": resolved.home / "mail"})
        mail_to = (f"SMTP {resolved.smtp_host}:{resolved.smtp_port}" if resolved.smtp_host
                   else f"{resolved.mail_directory}/*.eml")  # fmt: skip
        anon_key, _ = _run(_api_keys(url, resolved))
        print(
            "\nSkybound demo is running:\n"
            f"  Live board      {base}/boards/JFK\n"
            f"  API docs        {base}/docs\n"
            f"  Departures JFK  {base}/v1/airports/JFK/departures\n"
            f"  Arrivals LHR    {base}/v1/airports/LHR/arrivals\n"
            f"  Airport search  {base}/v1/airports?q=london\n"
            f"  Flight          {base}/v1/flights/1\n"
            f"  Health          {base}/healthz  {base}/readyz  {base}/metrics\n"
            f"  Mail            {mail_to}\n"
            f"  Supabase Realtime  ws://{resolved.host}:{resolved.port}/realtime/v1"
            f"  (apikey {anon_key})\n"
            "Press Ctrl+C to stop.\n",
            flush=True,
        )
        try:
            # The demo shows everything: Supabase clients get every exposed table's rows.
            tables = resolved.realtime_tables or list(REALTIME_TABLES)
            serve_one(
                resolved.model_copy(update={"auto_migrate": False, "realtime_tables": tables}),
                reuse_port=False,
            )
        finally:
            if simulator.is_alive() and simulator.pid is not None:
                os.kill(simulator.pid, signal.SIGTERM)
            simulator.join(timeout=10)
    return 0


# --- argument parsing ----------------------------------------------------------------


def _duration(text: str) -> int:
    """Seconds from "90", "90s", "15m", "1h" or "7d"."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = text.strip().lower()
    scale = units.get(text[-1:], 0)
    number = text[:-1] if scale else text
    if not number.isdigit() or int(number) == 0:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (try 90s, 15m, 1h, 7d)")
    return int(number) * (scale or 1)


def mint_token(
    settings: Settings, *, sub: str, roles: Sequence[str], ttl: int, email: str | None
) -> str:
    """A development access token in Supabase's shape, signed with the configured secret."""
    import uuid

    import jwt

    if not settings.jwt_secret:
        raise SystemExit(
            "skybound token: set SUPABASE_JWT_SECRET (the secret Skybound verifies with)"
        )
    now = int(time.time())
    claims = {
        "sub": str(uuid.UUID(sub)),
        "aud": settings.jwt_audience,
        "role": "authenticated",
        "iat": now,
        "exp": now + ttl,
        "email": email,
        "app_metadata": {"provider": "skybound-dev", "roles": sorted(set(roles))},
        "user_metadata": {},
        "is_anonymous": False,
    }
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


async def _stored_secret(settings: Settings) -> str | None:
    from foundation.database import create_pool
    from server.contexts import jwt_secret

    with resolved_database(settings) as resolved:
        await _migrate(resolved.database_url or "")
        pool = await create_pool(resolved.database_url or "", min_size=1, max_size=1)
        try:
            return await jwt_secret(resolved, pool)
        finally:
            await pool.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="skybound", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve_cmd = commands.add_parser("serve", help="run the HTTP server")
    serve_cmd.add_argument("--host", help="bind address (SKYBOUND_HOST)")
    serve_cmd.add_argument("--port", type=int, help="port (SKYBOUND_PORT)")
    serve_cmd.add_argument("--workers", type=int, help="processes on the port (SKYBOUND_WORKERS)")
    serve_cmd.add_argument(
        "--no-migrate", action="store_true", help="do not apply pending migrations at start"
    )

    demo_cmd = commands.add_parser("demo", help="seed if empty, run the simulator and server")
    demo_cmd.add_argument("--host")
    demo_cmd.add_argument("--port", type=int)
    demo_cmd.add_argument("--speed", type=float, default=1.0, help="simulated time speed-up")

    migrate_cmd = commands.add_parser("migrate", help="apply pending migrations")
    migrate_cmd.add_argument("--status", action="store_true", help="list pending, apply nothing")

    seed_cmd = commands.add_parser("seed", help="load airports and a generated schedule")
    seed_cmd.add_argument("--flights", type=int, default=100_000, help="flight legs to generate")
    seed_cmd.add_argument("--days", type=int, default=365, help="days of schedule")
    seed_cmd.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    seed_cmd.add_argument("--start", type=date.fromisoformat, help="first service date (today)")
    seed_cmd.add_argument("--replace", action="store_true", help="replace an existing schedule")
    seed_cmd.add_argument(
        "--reference-only", action="store_true",
        help="load airports, airlines, aircraft and fare brands only (before an SSIM import)",
    )  # fmt: skip

    token_cmd = commands.add_parser("token", help="mint a development access token")
    token_cmd.add_argument("--sub", required=True, help="user id (UUID)")
    token_cmd.add_argument(
        "--role", action="append", default=[], choices=["agent", "ops", "admin"],
        help="role in app_metadata.roles (repeatable)",
    )  # fmt: skip
    token_cmd.add_argument("--ttl", type=_duration, default=3600, help="lifetime: 15m, 1h, 7d")
    token_cmd.add_argument("--email")

    commands.add_parser(
        "anon-key", help="print the apikey the built-in auth accepts (SUPABASE_ANON_KEY)"
    )

    simulate_cmd = commands.add_parser("simulate", help="move flights through their day")
    simulate_cmd.add_argument("--seed", type=int, default=1)
    simulate_cmd.add_argument("--speed", type=float, default=1.0)
    simulate_cmd.add_argument("--interval", type=float, default=1.0, help="seconds per tick")

    data_commands.add_commands(commands)
    backup_commands.add_commands(commands)
    backup_commands.add_archive_command(commands)
    docs_commands.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = {k: getattr(args, k, None) for k in ("host", "port", "workers")}
    if getattr(args, "no_migrate", False):
        overrides["auto_migrate"] = False
    try:
        settings = Settings.from_env(**overrides)
    except ValueError as exc:
        print(f"skybound: invalid configuration:\n{exc}", file=sys.stderr)
        return 2

    if args.command == "serve":
        return serve(settings)
    if args.command == "token":
        if not settings.jwt_secret and not settings.supabase_url:
            # Running on our own: sign with the secret the database keeps.
            settings = settings.model_copy(update={"jwt_secret": _run(_stored_secret(settings))})
        try:
            print(mint_token(settings, sub=args.sub, roles=args.role, ttl=args.ttl,
                             email=args.email))  # fmt: skip
        except ValueError:
            print("skybound token: --sub must be a UUID", file=sys.stderr)
            return 2
        return 0
    if args.command == "anon-key":
        from domain.identity.api_keys import embedded_anon_key

        if settings.supabase_anon_key:
            print(settings.supabase_anon_key)
            return 0
        secret = settings.jwt_secret or _run(_stored_secret(settings))
        if not secret:
            print("skybound anon-key: no auth secret (SUPABASE_URL set?)", file=sys.stderr)
            return 2
        print(embedded_anon_key(secret))
        return 0
    if args.command == "demo":
        return demo(settings, speed=args.speed)

    from foundation.logs import configure_logging

    configure_logging(settings.log_level, "text")
    with resolved_database(settings) as resolved:
        url = resolved.database_url or ""
        if args.command == "migrate":
            if args.status:
                from foundation.database import connect
                from foundation.migrator import pending

                async def show() -> None:
                    conn = await connect(url)
                    try:
                        for m in await pending(conn):
                            print(f"pending {m.version:04d}_{m.name}")
                    finally:
                        await conn.close()

                _run(show())
                return 0
            applied = _run(_migrate(url))
            print(f"applied {len(applied)} migration(s): {applied}" if applied else "up to date")
            return 0
        if args.command == "seed":
            _run(_migrate(url))
            if args.reference_only:
                _run(_reference(url))
                print("loaded reference data")
                return 0
            report = _run(
                _seed(
                    url,
                    flights=args.flights,
                    days=args.days,
                    seed=args.seed,
                    start=args.start,
                    replace=args.replace,
                )
            )
            print(
                f"seeded {report.flights:,} flights ({report.flight_cabins:,} cabins) in "
                f"{report.seconds:.1f} s: {report.legs_per_second:,.0f} legs/s"
            )
            return 0
        if args.command == "import":
            _run(_migrate(url))
            return int(_run(data_commands.import_ssim(url, args)))
        if args.command == "docs":
            _run(_migrate(url))
            return int(_run(docs_commands.schema(url, args)))
        if args.command == "export":
            return int(_run(data_commands.export(url, args)))
        if args.command == "backup":
            return int(_run(backup_commands.backup(resolved, url, args.output)))
        if args.command == "archive":
            _run(_migrate(url))
            return int(_run(backup_commands.archive(resolved, url, args.after_days)))
        if args.command == "restore":
            return int(_run(backup_commands.restore(resolved, url, args.file, args.force)))
        if args.command == "simulate":
            with contextlib.suppress(KeyboardInterrupt):
                _run(_simulate(url, seed=args.seed, speed=args.speed, interval=args.interval))
            return 0
    return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
