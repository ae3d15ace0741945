"""The request pool: asyncpg connections with JSON codecs and a statement timeout."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson


class DatabaseUnreachable(ConnectionError):
    """The pool could not open a connection: the server is down or restarting, or its
    socket is gone (a stopped local server removes it: FileNotFoundError)."""


async def _pool_connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(*args, **kwargs)
    except ConnectionError:
        raise
    except OSError as exc:
        raise DatabaseUnreachable(repr(exc)) from exc


# The database could not be reached, or dropped the connection: nothing the request did
# is committed (a transaction ends with its connection), and a retry may well succeed.
# asyncpg reports a connection the server cut in the middle of an operation, when next
# used, as an internal state error ("cannot switch to state ...").
UNREACHABLE: tuple[type[BaseException], ...] = (
    ConnectionError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


# What a background task rides out by trying again later, rather than dying: the
# database away or restarting, a connection cut under a query, a timeout, a query
# refused meanwhile (a table locked by a migration, a server shutting down).
RIDE_OUT: tuple[type[BaseException], ...] = (
    *UNREACHABLE,
    OSError,
    asyncpg.PostgresError,
)


async def _init_connection(conn: asyncpg.Connection) -> None:
    # jsonb arrives as Python objects and goes out from them, via orjson.
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(
            type_name,
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (RESET ALL, UNLISTEN *, CLOSE ALL, unlock
    all): Skybound's pool users leave no session state behind (no SET, no LISTEN, no
    cursors, advisory locks only transaction-scoped), and the query costs a round trip
    on every release. An open transaction is still rolled back by the pool itself."""
    return None


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    statement_timeout_ms: int = 0,
    application_name: str = "skybound",
    extra_settings: dict[str, str] | None = None,
) -> asyncpg.Pool:
    server_settings: dict[str, Any] = {
        "application_name": application_name,
        **(extra_settings or {}),
    }
    if statement_timeout_ms:
        server_settings["statement_timeout"] = str(statement_timeout_ms)
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min(min_size, max_size),
        max_size=max_size,
        connect=_pool_connect,
        init=_init_connection,
        reset=_keep_session,
        server_settings=server_settings,
    )
    assert pool is not None
    return pool


async def connect(dsn: str, *, application_name: str = "skybound") -> asyncpg.Connection:
    """A single connection with the same codecs as the pool (CLI tools, LISTEN)."""
    conn = await asyncpg.connect(dsn, server_settings={"application_name": application_name})
    await _init_connection(conn)
    return conn
