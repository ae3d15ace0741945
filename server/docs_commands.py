"""The ``skybound docs`` commands: reference documents generated from the running system."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_commands(commands: Any) -> None:
    """Add ``docs`` to the CLI's subcommands."""
    docs_cmd = commands.add_parser("docs", help="generate reference documents")
    kinds = docs_cmd.add_subparsers(dest="kind", required=True)
    schema = kinds.add_parser(
        "schema", help="the database schema reference (docs/schema.md), after migrating"
    )
    schema.add_argument("--output", "-o", type=Path, help="file to write (standard output)")


async def schema(url: str, args: argparse.Namespace) -> int:
    from devtools.schema_docs import schema_markdown
    from foundation.database import connect

    conn = await connect(url, application_name="skybound-docs")
    try:
        text = await schema_markdown(conn)
    finally:
        await conn.close()
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
