"""Time an SSIM import of the seed's schedule against the seed's own bulk load.

One embedded PostgreSQL, held for the run, two databases on it:

1. ``skybound seed --flights N --days D --start S``: the baseline, the plain bulk
   insert of the same legs by the seed generator;
2. the SSIM file of that schedule, written by ``bench.ssim.generate``;
3. ``skybound seed --reference-only`` then ``skybound import ssim FILE`` into the
   second, empty database (the bulk path);
4. ``skybound import ssim FILE`` again: every leg matched, nothing changes;
5. a file with one carrier retimed by 10 minutes: those legs updated through
   change capture;
6. both databases' legs compared by a digest: the import gives the seed's legs.

Compare the import with the seed in the same run (``ratio``): the machine is a
shared 2-core VM and absolute seconds drift between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from bench.harness import RESULTS_DIR, BenchError
from bench.harness.postgres import bench_home, guarded_run
from bench.harness.processes import run_bounded
from bench.harness.report import LOGS_DIR, display, fresh_dir, header, invocation, write
from bench.harness.servers import skybound_bin, skybound_env
from bench.harness.versions import run_settings
from bench.ssim.generate import write_file
from devtools.seed import Schedule
from domain.schedules.ssim import Fields

GOAL_SECONDS = 60.0
TIMEOUT_S = 1800.0
SEED_LINE = re.compile(r"seeded ([\d,]+) flights .* in ([\d.]+) s")
IMPORT_LINE = re.compile(r"applied: .*; ([\d.]+) s")

_DIGEST = """
SELECT count(*), md5(string_agg(concat_ws('|', carrier, flight_number, service_date, origin,
                                          destination, aircraft_type, scheduled_departure,
                                          scheduled_arrival), ',' ORDER BY carrier,
                                flight_number, service_date, origin))
  FROM flights
"""


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _create_database(url: str, name: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _digest(url: str) -> tuple[int, str]:
    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(_DIGEST)
        return int(row[0]), str(row[1])
    finally:
        await conn.close()


def _retimed(source: Path, target: Path, carrier: str) -> int:
    """A copy of the file with ``carrier``'s departures 10 minutes later; legs records changed."""
    changed = 0
    dep = Fields.passenger_std
    with source.open() as src, target.open("w") as out:
        for line in src:
            if line[0] == "3" and line[2:4] == carrier:
                hhmm = int(line[dep][:2]) * 60 + int(line[dep][2:]) + 10
                if hhmm < 24 * 60:  # a departure at 23:55 keeps its time, not its date
                    line = f"{line[: dep.start]}{hhmm // 60:02d}{hhmm % 60:02d}{line[dep.stop :]}"
                    changed += 1
            out.write(line)
    return changed


class Run:
    def __init__(self, home: Path, url: str, logs: Path) -> None:
        self.home, self.url, self.logs = home, url, logs
        self.commands: list[str] = []

    def skybound(self, name: str, *args: str, database: str | None = None) -> tuple[str, float]:
        url = _with_database(self.url, database) if database else self.url
        argv = [skybound_bin(), *args]
        env = skybound_env(self.home, DATABASE_URL=url)
        self.commands.append(f"DATABASE_URL=... {display(argv)}")
        print(f"running {display(argv)} ...", flush=True)
        code, output, wall = run_bounded(argv, env, TIMEOUT_S, self.logs / f"{name}.log")
        if code != 0:
            raise BenchError(f"{display(argv)} failed with {code}:\n{output[-4000:]}")
        return output, wall


def _seconds(pattern: re.Pattern[str], output: str) -> float:
    match = pattern.search(output)
    if match is None:
        raise BenchError(f"no timing line in:\n{output[-2000:]}")
    return float(match.groups()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flights", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2027, 1, 4))
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "ssim.md")
    args = parser.parse_args(argv)
    settings = run_settings("PostgreSQL (embedded)")
    logs = fresh_dir(LOGS_DIR, "ssim-*")
    rows: list[tuple[str, str, float, str]] = []
    notes: list[str] = []
    with bench_home(None) as (home, owned), guarded_run(home, owned, notes) as run_state:
        url = run_state.hold_postgres()
        run = Run(home, url, logs)
        flights, days = str(args.flights), str(args.days)
        output, wall = run.skybound("ssim-seed", "seed", "--flights", flights, "--days", days,
                                    "--start", args.start.isoformat())  # fmt: skip
        seed_s = _seconds(SEED_LINE, output)
        rows.append(("baseline: `skybound seed` (bulk COPY of the same legs)",
                     f"{args.flights:,} legs", seed_s, "1.00"))  # fmt: skip

        schedule = Schedule(flights=args.flights, days=args.days, seed=1, start_date=args.start)
        path = home / "schedule.ssim"
        started = time.perf_counter()
        records = write_file(schedule, path, args.start)
        generate_s = time.perf_counter() - started
        rows.append(("write the SSIM file (`bench.ssim.generate`)",
                     f"{records:,} records, {path.stat().st_size / 1e6:.1f} MB", generate_s,
                     f"{generate_s / seed_s:.2f}"))  # fmt: skip

        asyncio.run(_create_database(url, "imported"))
        run.skybound("ssim-reference", "seed", "--reference-only", database="imported")
        output, wall = run.skybound("ssim-import", "import", "ssim", str(path),
                                    database="imported")  # fmt: skip
        import_s = _seconds(IMPORT_LINE, output)
        rows.append(("`skybound import ssim` into an empty database",
                     f"{args.flights:,} legs new", import_s,
                     f"{import_s / seed_s:.2f}"))  # fmt: skip
        rows.append(("  same, wall time of the command (start, migrate check, parse)", "",
                     wall, f"{wall / seed_s:.2f}"))  # fmt: skip

        output, wall = run.skybound("ssim-reimport", "import", "ssim", str(path),
                                    database="imported")  # fmt: skip
        reimport_s = _seconds(IMPORT_LINE, output)
        if f"{args.flights:,} unchanged" not in output:
            notes.append(f"re-import did not find every leg unchanged: {output.strip()[:300]}")
        rows.append(("the same file again (every leg matched, nothing written)",
                     f"{args.flights:,} unchanged", reimport_s,
                     f"{reimport_s / seed_s:.2f}"))  # fmt: skip

        retimed = home / "retimed.ssim"
        changed_records = _retimed(path, retimed, "RC")
        output, wall = run.skybound("ssim-retimed", "import", "ssim", str(retimed),
                                    database="imported")  # fmt: skip
        retimed_s = _seconds(IMPORT_LINE, output)
        updated = re.search(r"([\d,]+) changed", output)
        rows.append(("one carrier (RC) retimed +10 min: updates through change capture",
                     f"{updated[1] if updated else '?'} legs changed ({changed_records} records)",
                     retimed_s, f"{retimed_s / seed_s:.2f}"))  # fmt: skip

        # Undo the retiming so the digests compare the seed's schedule with the import.
        run.skybound("ssim-restore", "import", "ssim", str(path), database="imported")
        seeded = asyncio.run(_digest(url))
        imported = asyncio.run(_digest(_with_database(url, "imported")))
        same = "identical" if seeded == imported else f"DIFFERENT: {seeded} vs {imported}"
        notes.append(f"legs of the seeded and the imported database ({seeded[0]:,}): {same}")
        notes.append(
            f"goal: import under {GOAL_SECONDS:.0f} s: "
            + ("met" if import_s < GOAL_SECONDS else "NOT met")
        )
    lines = header("SSIM import", invocation("bench.ssim", argv or []), settings)
    lines += ["", "| step | what | seconds | ratio to seed |", "|---|---|---:|---:|"]
    lines += [f"| {step} | {what} | {seconds:.1f} | {ratio} |" for step, what, seconds, ratio
              in rows]  # fmt: skip
    lines += ["", "## Notes", "", *[f"- {n}" for n in notes], ""]
    lines += ["## Commands run", "", "```sh", *run.commands, "```", ""]
    write("\n".join(lines), args.output)
    return run_state.code
