"""Embedded PostgreSQL for running without ``DATABASE_URL``.

pgserver ships real PostgreSQL 16 binaries in a wheel. The server listens only
on a Unix socket inside the data directory, so nothing is exposed on the
network and two Skybound homes never collide on a port.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

log = logging.getLogger(__name__)

DATABASE_NAME = "skybound"

# Settings suited to an application database on a laptop or a small VM. Applied
# with ALTER SYSTEM so they survive restarts of the embedded server.
_SERVER_SETTINGS = {
    "max_connections": "200",
    "shared_buffers": "256MB",
    "wal_level": "minimal",
    "max_wal_senders": "0",
}


def _pgserver() -> Any:
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI);
    # pgserver only uses that directory for a lock file, so the warning is noise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    return pgserver


class EmbeddedPostgres:
    """A pgserver-managed PostgreSQL whose data lives in ``data_dir``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        """Start (or attach to) the server and return a URL for the Skybound database."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = _pgserver().get_server(self.data_dir, cleanup_mode="stop")
        self._configure()
        return self.url(DATABASE_NAME)

    def url(self, database: str) -> str:
        socket_dir = self._server.get_postmaster_info().socket_dir
        return f"postgresql://postgres@/{database}?host={quote(str(socket_dir))}"

    def psql(self, sql: str) -> str:
        return str(self._server.psql(sql))

    def _configure(self) -> None:
        current = self.psql("SHOW max_connections;")
        if _SERVER_SETTINGS["max_connections"] not in current:
            for name, value in _SERVER_SETTINGS.items():
                self.psql(f"ALTER SYSTEM SET {name} = '{value}';")
            # These settings need a restart; pgserver restarts on the next get_server.
            self._server.cleanup()
            self._server = _pgserver().get_server(self.data_dir, cleanup_mode="stop")
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "1 row" not in exists:
            self.psql(f"CREATE DATABASE {DATABASE_NAME};")

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


@contextmanager
def embedded_postgres(home: Path) -> Iterator[str]:
    """Run an embedded PostgreSQL under ``home`` for the duration of the block; yield its URL."""
    server = EmbeddedPostgres(home / "pgdata")
    url = server.start()
    log.info("embedded postgres started", extra={"data_dir": str(server.data_dir)})
    try:
        yield url
    finally:
        server.stop()
        log.info("embedded postgres stopped")
