"""docs/schema.md is what `skybound docs schema` makes of the migrated database."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import asyncpg

from devtools.schema_docs import COMMAND, schema_markdown

SCHEMA_DOC = Path(__file__).parent.parent / "docs" / "schema.md"


async def test_the_schema_reference_matches_the_migrations(db: asyncpg.Connection) -> None:
    expected = await schema_markdown(db)
    assert SCHEMA_DOC.read_text() == expected, (
        f"docs/schema.md is out of date with the migrations: run `{COMMAND}`"
    )


async def test_every_table_is_documented_with_a_purpose(db: asyncpg.Connection) -> None:
    undocumented = await db.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        "   AND obj_description(c.oid, 'pg_class') IS NULL"
    )
    assert [r["relname"] for r in undocumented] == [], "COMMENT ON TABLE ... IS '<its purpose>'"


async def test_the_diagram_shows_each_foreign_key(db: asyncpg.Connection) -> None:
    markdown = await schema_markdown(db)
    assert '    passengers }o--|| bookings : "booking_id"' in markdown
    assert '    bookings }o--o| profiles : "user_id"' in markdown


async def test_the_command_writes_the_reference(database_url: str, tmp_path: Path) -> None:
    output = tmp_path / "schema.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYBOUND_")}
    env.update(DATABASE_URL=database_url, SKYBOUND_HOME=str(tmp_path / "home"))
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server.cli", "docs", "schema", "--output", str(output), env=env
    )
    assert await command.wait() == 0
    assert output.read_text() == SCHEMA_DOC.read_text()
