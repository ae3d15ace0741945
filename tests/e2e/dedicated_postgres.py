"""A PostgreSQL of one test's own, to stop and start under a running server.

The session's server (tests/postgres.py) is shared by every test and must never be
restarted; this one lives in a temporary directory for a single test, on the same
binaries that pgserver ships, and listens only on a Unix socket there.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

DATABASE = "skybound"
# Disposable data: trade durability for speed, as the session's server does.
_FAST_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")
PG_CTL_TIMEOUT = 120


def _pgserver() -> Any:
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset; pgserver only uses it
    # for a lock file.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver

    return pgserver


class DedicatedPostgres:
    def __init__(self, work_dir: Path) -> None:
        self.data_dir = work_dir / "pgdata"
        self._server: Any = None
        self._socket_dir: Path | None = None

    def start(self) -> None:
        """initdb and start (through pgserver), then create the application database."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._server = _pgserver().get_server(self.data_dir, cleanup_mode="stop")
        self._socket_dir = self._server.get_postmaster_info().socket_dir
        for name in _FAST_SETTINGS:
            self._server.psql(f"ALTER SYSTEM SET {name} = off;")
        self._server.psql("SELECT pg_reload_conf();")
        self._server.psql(f"CREATE DATABASE {DATABASE};")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/{DATABASE}?host={quote(str(self._socket_dir))}"

    def _pg_ctl(self, *args: str) -> None:
        _pgserver().pg_ctl(
            list(args), pgdata=self.data_dir, user=self._server.system_user, timeout=PG_CTL_TIMEOUT
        )

    def stop_fast(self) -> None:
        """pg_ctl stop -m fast: every session is disconnected, as in a failover or upgrade."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start_again(self) -> None:
        """Start on the same data directory and socket, as pgserver first did."""
        self._pg_ctl(
            "-w", "-o", '-h ""', "-o", f"-k {self._socket_dir}",
            "-l", str(self.data_dir / "log"), "start",
        )  # fmt: skip

    @property
    def running(self) -> bool:
        return (self.data_dir / "postmaster.pid").exists()

    def close(self) -> None:
        """Stop the server, whether pgserver or this class started it last."""
        if self._server is None:
            return
        # pgserver stops only the postmaster it started; after a restart that is gone.
        self._server.cleanup()
        if self.running:
            self._pg_ctl("-w", "-m", "immediate", "stop")
        self._server = None
