"""postgres_changes: the bindings a channel joins with, their filters, and the
messages built from the change log's row events (migration 0015).

A binding is ``{event, schema, table, filter}``. Its id is a hash of exactly what the
client sent, so equal bindings get equal ids on every socket and every worker, and
sockets with equal bindings on equal channel names share one encoder (the hub then
encodes a batch once for all of them).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from streams.events import ChangeEvent
from streams.phoenix.serializer import Vsn, encode_raw_payload

SCHEMA = "public"
PUBLIC_TABLES = ("flights", "airports")
OWNED_TABLES = ("bookings", "booking_segments")
TABLES = PUBLIC_TABLES + OWNED_TABLES
EVENTS = ("*", "INSERT", "UPDATE", "DELETE")
OPERATORS = ("eq", "neq", "lt", "lte", "gt", "gte", "in")
NUMERIC_TYPES = frozenset({"int2", "int4", "int8", "float4", "float8", "numeric"})
_FILTER = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(eq|neq|lt|lte|gt|gte|in)\.(.*)$", re.S)

Columns = Mapping[str, Sequence[tuple[str, str]]]
"""Each exposed table's columns, as (name, type) in table order."""

OldRecordKeys = Mapping[str, tuple[str, ...] | None]
"""Per exposed table, the columns an UPDATE's or DELETE's ``old_record`` carries: its
primary key, or None for the whole old row (``REPLICA IDENTITY FULL``)."""


class BindingError(ValueError):
    """A binding the server cannot subscribe (Supabase answers with a system error)."""


@dataclass(frozen=True, slots=True)
class RowFilter:
    column: str
    operator: str
    values: tuple[str, ...]
    numeric: bool

    def matches(self, row: Mapping[str, Any]) -> bool:
        value = row.get(self.column)
        if value is None:
            return False
        if self.numeric:
            try:
                actual: Any = float(value)
                wanted: list[Any] = [float(v) for v in self.values]
            except ValueError:
                return False
        else:
            actual = _text(value)
            wanted = list(self.values)
        if self.operator == "in":
            return actual in wanted
        target = wanted[0]
        match self.operator:
            case "eq":
                return bool(actual == target)
            case "neq":
                return bool(actual != target)
            case "lt":
                return bool(actual < target)
            case "lte":
                return bool(actual <= target)
            case "gt":
                return bool(actual > target)
            case _:
                return bool(actual >= target)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value.rstrip() if len(value) <= 3 else value  # char(n) pads with spaces
    return orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class Binding:
    id: int
    event: str
    table: str | None
    filter: RowFilter | None
    echo: dict[str, Any]
    """What the client sent, with the id: the join reply lists these in order."""

    def matches(self, table: str, kind: str, row: Mapping[str, Any]) -> bool:
        if self.event != "*" and self.event != kind:
            return False
        if self.table is not None and self.table != table:
            return False
        return self.filter is None or self.filter.matches(row)


def binding_id(params: Mapping[str, Any]) -> int:
    """A stable 27-bit id (the range of the Erlang hash Supabase uses) of the params."""
    digest = hashlib.blake2b(orjson.dumps(params, option=orjson.OPT_SORT_KEYS), digest_size=8)
    return int.from_bytes(digest.digest(), "big") & ((1 << 27) - 1)


def parse_bindings(raw: object, columns: Columns) -> list[Binding]:
    """The join's ``config.postgres_changes``; BindingError names what is wrong."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BindingError("`postgres_changes` must be a list of bindings")
    return [_binding(item, columns) for item in raw]


def _binding(item: object, columns: Columns) -> Binding:
    if not isinstance(item, dict):
        raise BindingError("a binding is an object {event, schema, table, filter}")
    params = {k: v for k, v in item.items() if k in ("event", "schema", "table", "filter")}
    event = params.get("event", "*")
    if event not in EVENTS:
        raise BindingError(f"event must be one of {', '.join(EVENTS)}")
    schema = params.get("schema", SCHEMA)
    if schema != SCHEMA:
        raise BindingError(f"Skybound exposes the schema {SCHEMA!r} only")
    table = params.get("table")
    if table in (None, "*"):
        table = None
    elif table not in TABLES:
        raise BindingError(f"table must be one of {', '.join(TABLES)}")
    raw_filter = params.get("filter")
    row_filter = None
    if raw_filter not in (None, ""):
        if table is None:
            raise BindingError("a filter needs a table")
        row_filter = _filter(raw_filter, dict(columns[table]))
    echo = {**item, "id": binding_id(params)}
    return Binding(echo["id"], str(event), table, row_filter, echo)


def _filter(text: object, types: Mapping[str, str]) -> RowFilter:
    if not isinstance(text, str):
        raise BindingError("filter must be a string column=operator.value")
    match = _FILTER.match(text)
    if match is None:
        raise BindingError(
            f"Error parsing `filter` params: {text!r}; use column=operator.value with one of "
            + ", ".join(OPERATORS)
        )
    column, operator, value = match[1], match[2], match[3]
    if column not in types:
        raise BindingError(f"Error parsing `filter` params: no column {column!r}")
    if operator == "in":
        if not (value.startswith("(") and value.endswith(")")):
            raise BindingError("Error parsing `filter` params: `in` takes (a,b,c)")
        values = tuple(v.strip().strip('"') for v in value[1:-1].split(",") if v.strip())
    else:
        values = (value,)
    return RowFilter(column, operator, values, types[column] in NUMERIC_TYPES)


# Encoding -------------------------------------------------------------------------

RowEncoder = Callable[[ChangeEvent, str], bytes]


def row_data(
    event: ChangeEvent, columns: Columns, old_keys: OldRecordKeys
) -> tuple[dict[str, Any], bytes]:
    """A row event's change and its ``data`` JSON; computed once per event. The change
    keeps the whole old row, so filters match DELETEs too; what is sent of it follows
    the table's replica identity, as Supabase does: its primary key unless the table is
    ``REPLICA IDENTITY FULL``. (The old row is also most of the bytes a socket writes.)"""
    memo = event.memo.get("pg")
    if memo is None:
        rendered = orjson.loads(event.data)
        row = rendered["row"]
        data: dict[str, Any] = {
            "schema": row["schema"],
            "table": row["table"],
            "commit_timestamp": rendered["at"],
            "type": row["type"],
            "columns": [{"name": n, "type": t} for n, t in columns.get(row["table"], ())],
        }
        if "record" in row:
            data["record"] = row["record"]
        if "old_record" in row:
            old, keys = row["old_record"], old_keys.get(row["table"])
            data["old_record"] = old if keys is None else {k: old.get(k) for k in keys}
        data["errors"] = None
        data["position"] = event.position
        memo = event.memo["pg"] = (row, orjson.dumps(data))
    return memo


def row_encoder(
    vsn: Vsn,
    channel_topic: str,
    bindings: Sequence[Binding],
    columns: Columns,
    old_keys: OldRecordKeys,
) -> RowEncoder:
    """Frames a row event for a channel: ``{ids, data}`` naming the bindings it matches,
    nothing at all when it matches none."""

    def encode(event: ChangeEvent, _hub_topic: str) -> bytes:
        if not event.type.startswith("row."):
            return b""
        row, data = row_data(event, columns, old_keys)
        subject = row.get("record") or row.get("old_record") or {}
        ids = [b.id for b in bindings if b.matches(row["table"], row["type"], subject)]
        if not ids:
            return b""
        payload = b'{"ids":%b,"data":%b}' % (orjson.dumps(ids), data)
        return encode_raw_payload(vsn, channel_topic, "postgres_changes", payload)

    return encode


async def load_columns(conn: Any) -> dict[str, list[tuple[str, str]]]:
    """The exposed tables' columns as the row events carry them (0015 hides a booking's
    contact details)."""
    rows = await conn.fetch(
        """SELECT c.relname AS table_name, a.attname AS name, t.typname AS type
           FROM pg_attribute a
           JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_type t ON t.oid = a.atttypid
           WHERE n.nspname = 'public' AND c.relname = ANY($1::text[])
             AND a.attnum > 0 AND NOT a.attisdropped
           ORDER BY c.relname, a.attnum""",
        list(TABLES),
    )
    hidden = {("bookings", "contact_email"), ("bookings", "contact_phone")}
    columns: dict[str, list[tuple[str, str]]] = {table: [] for table in TABLES}
    for row in rows:
        if (row["table_name"], row["name"]) not in hidden:
            columns[row["table_name"]].append((row["name"], row["type"]))
    return columns


async def load_old_record_keys(conn: Any) -> dict[str, tuple[str, ...] | None]:
    """Each exposed table's primary key, or None where its replica identity is FULL
    (``ALTER TABLE flights REPLICA IDENTITY FULL`` then a restart sends whole old rows)."""
    rows = await conn.fetch(
        """SELECT c.relname AS table_name, c.relreplident = 'f' AS full_row,
                  ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(attnum, n)
                        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
                        ORDER BY k.n) AS key
           FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
           WHERE n.nspname = 'public' AND c.relname = ANY($1::text[])""",
        list(TABLES),
    )
    return {r["table_name"]: None if r["full_row"] else tuple(r["key"]) for r in rows}


async def publish_tables(conn: Any, tables: Sequence[str]) -> None:
    """Add tables to those whose row changes are captured (never removes: an operator
    may have added more with SQL, as with Supabase's publication)."""
    if tables:
        await conn.execute(
            "INSERT INTO realtime_tables (table_name) SELECT unnest($1::text[])"
            " ON CONFLICT DO NOTHING",
            list(tables),
        )
