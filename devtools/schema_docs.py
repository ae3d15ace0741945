"""docs/schema.md from the live catalogue: every table, column, constraint, index and
trigger of the ``public`` schema, with the comments the migrations put on them, and an
entity-relationship diagram of the foreign keys.

Run by ``skybound docs schema``; ``tests/test_schema_docs.py`` regenerates it from a
freshly migrated database and fails when the committed file differs.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import asyncpg

COMMAND = "skybound docs schema --output docs/schema.md"

_TABLES = """
SELECT c.oid, c.relname AS name, obj_description(c.oid, 'pg_class') AS comment
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
 ORDER BY c.relname
"""
_COLUMNS = """
SELECT a.attrelid AS table_oid, a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS default_value, a.attidentity::text AS identity,
       a.attgenerated::text AS generated, col_description(a.attrelid, a.attnum) AS comment
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attrelid, a.attnum
"""
_CONSTRAINTS = """
SELECT con.conrelid AS table_oid, con.conname AS name, con.contype::text AS kind,
       pg_get_constraintdef(con.oid) AS definition, con.confrelid::regclass::text AS target,
       obj_description(con.oid, 'pg_constraint') AS comment,
       ARRAY(SELECT a.attname FROM unnest(con.conkey) AS k(n)
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n) AS columns
  FROM pg_constraint con
 WHERE con.conrelid = ANY($1::oid[])
 ORDER BY con.conrelid, position(con.contype::text IN 'pufcx'), con.conname
"""
_INDEXES = """
SELECT i.indrelid AS table_oid, c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition,
       obj_description(i.indexrelid, 'pg_class') AS comment,
       EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.indexrelid
                AND con.conrelid = i.indrelid) AS backs_constraint
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = ANY($1::oid[])
 ORDER BY i.indrelid, c.relname
"""
_TRIGGERS = """
SELECT t.tgrelid AS table_oid, t.tgname AS name, t.tgfoid::regproc::text AS function,
       obj_description(t.oid, 'pg_trigger') AS comment
  FROM pg_trigger t
 WHERE t.tgrelid = ANY($1::oid[]) AND NOT t.tgisinternal
 ORDER BY t.tgrelid, t.tgname
"""
_KINDS = {"p": "primary key", "u": "unique", "f": "foreign key", "c": "check", "x": "exclusion"}


async def schema_markdown(conn: asyncpg.Connection) -> str:
    """The schema reference of the database ``conn`` is connected to."""
    tables = await conn.fetch(_TABLES)
    oids = [t["oid"] for t in tables]
    parts: dict[str, dict[int, list[asyncpg.Record]]] = {}
    for name, query in (("columns", _COLUMNS), ("constraints", _CONSTRAINTS),
                        ("indexes", _INDEXES), ("triggers", _TRIGGERS)):  # fmt: skip
        grouped: dict[int, list[asyncpg.Record]] = defaultdict(list)
        for row in await conn.fetch(query, oids):
            grouped[row["table_oid"]].append(row)
        parts[name] = grouped
    lines = [
        "# Database schema",
        "",
        "Generated from the catalogue of a migrated database by",
        f"`{COMMAND}`; do not edit by hand. Purposes are the",
        "comments the migrations put on tables and columns (`COMMENT ON`, most in",
        "`foundation/migrations/0033_comments.sql`); a new table or column explains itself",
        "with its own `COMMENT ON`. `tests/test_schema_docs.py` fails when this file is out",
        "of date with the migrations.",
        "",
        f"{len(tables)} tables. Money is `bigint` minor units with an ISO 4217 currency;",
        "instants are `timestamptz`. See [data.md](data.md) for how the data is loaded and",
        "[architecture.md](architecture.md#data) for the rules the schema enforces.",
        "",
        "## Entity relationships",
        "",
        "Foreign keys only; each entity lists its primary-key and foreign-key columns.",
        "",
        *_diagram(tables, parts),
        "",
        "## Tables",
        "",
        *(f"- [{t['name']}](#{t['name']})" for t in tables),
    ]
    for table in tables:
        lines += ["", *_table(table, parts)]
    return "\n".join(lines) + "\n"


def _diagram(tables: list[asyncpg.Record], parts: dict[str, Any]) -> list[str]:
    lines = ["```mermaid", "erDiagram"]
    relations = []
    for table in tables:
        columns = {c["name"]: c for c in parts["columns"][table["oid"]]}
        keyed: dict[str, str] = {}
        for con in parts["constraints"][table["oid"]]:
            if con["kind"] == "p":
                keyed.update(dict.fromkeys(con["columns"], "PK"))
            elif con["kind"] == "f":
                for name in con["columns"]:
                    keyed[name] = "PK, FK" if keyed.get(name) == "PK" else "FK"
                optional = any(not columns[name]["not_null"] for name in con["columns"])
                target = "o|" if optional else "||"
                label = ", ".join(con["columns"])
                relations.append(f'    {table["name"]} }}o--{target} {con["target"]} : "{label}"')
        lines.append(f"    {table['name']} {{")
        for name, key in keyed.items():
            lines.append(f"        {_mermaid_type(columns[name]['type'])} {name} {key}")
        lines.append("    }")
    return [*lines, *relations, "```"]


def _mermaid_type(sql_type: str) -> str:
    """A column type as one Mermaid word (``timestamp with time zone`` -> ``timestamptz``)."""
    short = {"timestamp with time zone": "timestamptz", "character varying": "varchar",
             "double precision": "float8"}  # fmt: skip
    base = re.sub(r"\(.*?\)", "", sql_type)
    array = base.endswith("[]")
    base = short.get(base.removesuffix("[]"), base.removesuffix("[]")).replace(" ", "_")
    return f"{base}_array" if array else base


def _cell(text: str | None) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")


def _table(table: asyncpg.Record, parts: dict[str, Any]) -> list[str]:
    oid = table["oid"]
    lines = [f"### {table['name']}", ""]
    if table["comment"]:
        lines += [table["comment"], ""]
    lines += ["| column | type | null | default | purpose |", "|---|---|---|---|---|"]
    # A column without a comment still says what the catalogue knows: the key it is part
    # of, the table it refers to.
    keys: dict[str, list[str]] = defaultdict(list)
    for con in parts["constraints"][oid]:
        if con["kind"] == "f":
            for name in con["columns"]:
                keys[name].append(f"refers to `{con['target']}`")
        elif con["kind"] == "p":
            for name in con["columns"]:
                keys[name].insert(0, "primary key" if len(con["columns"]) == 1 else
                                  "part of the primary key")  # fmt: skip
    for col in parts["columns"][oid]:
        default = col["default_value"]
        if col["identity"]:
            default = "identity (always)" if col["identity"] == "a" else "identity"
        elif col["generated"]:
            default = f"generated: {default}"
        lines.append(
            f"| `{col['name']}` | {_cell(col['type'])} | {'' if col['not_null'] else 'yes'} "
            f"| {f'`{_cell(default)}`' if default else ''} "
            f"| {_cell(col['comment'] or _sentence(keys[col['name']]))} |"
        )
    lines += _section(
        ("constraint", "kind", "definition", "purpose"),
        [
            (
                f"`{c['name']}`",
                _KINDS.get(c["kind"], c["kind"]),
                f"`{_cell(c['definition'])}`",
                _cell(c["comment"]),
            )
            for c in parts["constraints"][oid]
        ],
    )
    lines += _section(
        ("index", "definition", "purpose"),
        [
            (
                f"`{i['name']}`",
                f"`{_cell(_index_definition(i['definition']))}`",
                _cell(i["comment"]),
            )
            for i in parts["indexes"][oid]
            if not i["backs_constraint"]
        ],
    )
    lines += _section(("trigger", "function", "purpose"), [
        (f"`{t['name']}`", f"`{t['function']}`", _cell(t["comment"]))
        for t in parts["triggers"][oid]
    ])  # fmt: skip
    return lines


def _sentence(facts: list[str]) -> str:
    return (", ".join(facts) + ".").capitalize() if facts else ""


def _section(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """A table of ``rows`` under ``header``, after a blank line; nothing for no rows."""
    if not rows:
        return []
    lines = ["", f"| {' | '.join(header)} |", "|" + "---|" * len(header)]
    return lines + [f"| {' | '.join(row)} |" for row in rows]


def _index_definition(definition: str) -> str:
    """``CREATE INDEX x ON public.t USING btree (a)`` -> ``btree (a)`` (name and table are
    in the row already)."""
    _, _, rest = definition.partition(" USING ")
    unique = "unique " if definition.startswith("CREATE UNIQUE") else ""
    return unique + rest
