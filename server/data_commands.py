"""The ``skybound import`` and ``skybound export`` commands: schedules and flights as files."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import IO, Any

# Errors listed on the terminal; the rest are counted.
SHOWN_ERRORS = 50


def add_commands(commands: Any) -> None:
    """Add ``import`` and ``export`` to the CLI's subcommands."""
    import_cmd = commands.add_parser("import", help="import a schedule file")
    import_kinds = import_cmd.add_subparsers(dest="kind", required=True)
    ssim = import_kinds.add_parser("ssim", help="an IATA SSIM Chapter 7 schedule")
    ssim.add_argument("file", type=Path, help="the SSIM file ('-' for standard input)")
    ssim.add_argument("--dry-run", action="store_true", help="check and report, apply nothing")
    ssim.add_argument(
        "--cancel-missing", action="store_true",
        help="cancel legs of the file's carriers and periods that the file no longer has",
    )  # fmt: skip

    export_cmd = commands.add_parser("export", help="export flights as a file")
    export_kinds = export_cmd.add_subparsers(dest="kind", required=True)
    for kind, description in (
        ("ssim", "an IATA SSIM Chapter 7 schedule"),
        ("csv", "flights as CSV"),
        ("jsonl", "flights as JSON Lines"),
    ):
        sub = export_kinds.add_parser(kind, help=description)
        sub.add_argument("--carrier", help="one carrier's flights (IATA code)")
        required = kind != "ssim"
        sub.add_argument("--from", dest="first", type=date.fromisoformat, required=required,
                         help="first service date (YYYY-MM-DD)")  # fmt: skip
        sub.add_argument("--to", dest="last", type=date.fromisoformat, required=required,
                         help="last service date (YYYY-MM-DD)")  # fmt: skip
        sub.add_argument("--output", "-o", type=Path, help="file to write (standard output)")


@contextlib.contextmanager
def _lines(path: Path) -> Iterator[IO[str]]:
    if str(path) == "-":
        yield sys.stdin
        return
    # SSIM is ASCII; latin-1 reads any byte, so a stray one fails the record's length
    # or field check with its record number instead of a decoding error.
    with path.open(encoding="latin-1", newline="") as handle:
        yield handle


def _progress(stage: str, legs: int) -> None:
    print(f"  {stage}: {legs:,} legs", file=sys.stderr, flush=True)


async def import_ssim(url: str, args: argparse.Namespace) -> int:
    from domain.schedules import ScheduleRejected, import_schedule
    from foundation.database import connect

    conn = await connect(url, application_name="skybound-import")
    try:
        with _lines(args.file) as lines:
            report = await import_schedule(
                conn, lines, dry_run=args.dry_run, cancel_missing=args.cancel_missing,
                on_progress=_progress,
            )  # fmt: skip
    except ScheduleRejected as exc:
        print(f"skybound import: {exc.detail}", file=sys.stderr)
        for error in exc.errors[:SHOWN_ERRORS]:
            print(f"  {error.message}", file=sys.stderr)
        if len(exc.errors) > SHOWN_ERRORS:
            print(f"  ... and {len(exc.errors) - SHOWN_ERRORS} more", file=sys.stderr)
        return 1
    finally:
        await conn.close()
    verb = "would apply (dry run)" if report.dry_run else "applied"
    print(
        f"{verb}: {report.records:,} records, {report.legs:,} legs: {report.inserted:,} new, "
        f"{report.updated:,} changed, {report.unchanged:,} unchanged, "
        f"{report.not_updated_operating:,} changed but already operating (left alone); "
        f"{report.missing:,} missing ({report.missing_with_bookings:,} with bookings), "
        f"{report.cancelled:,} cancelled; {report.seconds:.1f} s"
    )
    print("  time: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.stage_seconds.items()))
    for m in report.offset_mismatches[:SHOWN_ERRORS]:
        print(
            f"  record {m['record']}: {m['station']} UTC variation {m['stated']} but "
            f"{m['time_zone']} is {m['zone_offset']} ({m['legs']} legs from {m['first_date']})"
        )
    for leg in report.missing_sample:
        print(
            f"  missing: {leg['carrier']}{leg['flight_number']} {leg['service_date']} "
            f"from {leg['origin']} ({leg['status']}{', booked' if leg['booked'] else ''})"
        )
    return 0


async def export(url: str, args: argparse.Namespace) -> int:
    from domain.schedules import export_csv, export_jsonl, export_ssim
    from foundation.database import connect

    conn = await connect(url, application_name="skybound-export")
    try:
        carrier = args.carrier.upper() if args.carrier else None
        chunks: AsyncIterator[str]
        if args.kind == "ssim":
            chunks = export_ssim(conn, carrier=carrier, first=args.first, last=args.last)
        elif args.kind == "csv":
            chunks = export_csv(conn, first=args.first, last=args.last, carrier=carrier)
        else:
            chunks = export_jsonl(conn, first=args.first, last=args.last, carrier=carrier)
        with contextlib.ExitStack() as stack:
            out: IO[str] = (
                stack.enter_context(args.output.open("w", encoding="utf-8", newline=""))
                if args.output
                else sys.stdout
            )
            async for chunk in chunks:
                out.write(chunk)
    finally:
        await conn.close()
    return 0
