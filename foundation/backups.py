"""Backups: one tar archive holding a ``pg_dump`` of the database, the local file storage
(receipts, avatars) and a manifest that lets a restore check what it got.

Archive members:

- ``database.dump``: ``pg_dump --format=custom``, one consistent snapshot;
- ``files/<key>``: every file of the local storage, copied after the dump, so that
  every file a dumped row names is there (files are written before their rows);
- ``manifest.json``: format version, when, the schema version (newest migration),
  the database's row count per table, and the size and SHA-256 of every other member.

The PostgreSQL client tools come from the pgserver wheel (PostgreSQL 16), or from the
``PATH`` when the server is newer than they are: ``pg_dump`` refuses a newer server.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import asyncpg

FORMAT = "skybound-backup"
FORMAT_VERSION = 1
DUMP_MEMBER = "database.dump"
MANIFEST_MEMBER = "manifest.json"
FILES_PREFIX = "files/"
_CHUNK = 1 << 20
_TOOL_VERSION = re.compile(r"\(PostgreSQL\) (\d+)")

_TABLES = """
SELECT format('%I.%I', schemaname, tablename) AS name
  FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename
"""


class BackupError(RuntimeError):
    """A backup that cannot be made, or an archive that cannot be restored as asked."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    bytes: int
    tables: int
    rows: int
    files: int
    schema_version: int


@dataclass(frozen=True, slots=True)
class RestoreReport:
    tables: int
    rows: int
    files: int
    schema_version: int
    created_at: str


# Tools ------------------------------------------------------------------------------


def _bundled_bin() -> Path | None:
    with contextlib.suppress(ImportError):
        from foundation.embedded import _pgserver

        path = Path(_pgserver().__file__).parent / "pginstall" / "bin"
        return path if path.is_dir() else None
    return None


def _major(tool: str) -> int:
    output = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True)
    found = _TOOL_VERSION.search(output.stdout)
    return int(found[1]) if found else 0


def pg_tool(name: str, server_major: int) -> str:
    """The ``pg_dump`` or ``pg_restore`` to use with a server of this major version."""
    bundled = _bundled_bin()
    candidates = [str(bundled / name)] if bundled else []
    on_path = shutil.which(name)
    if on_path:
        candidates.append(on_path)
    for tool in candidates:
        if _major(tool) >= server_major:
            return tool
    raise BackupError(
        f"no {name} for PostgreSQL {server_major}: install its client tools on the PATH"
    )


def _run(argv: list[str], url: str) -> None:
    """Run a client tool on the database at ``url``; its password travels in the
    environment, not on the command line, where ps would show it."""
    parts = urlsplit(url)
    env = dict(os.environ)
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        host = parts.netloc.rsplit("@", 1)[-1]
        user = quote(unquote(parts.username or ""), safe="")
        parts = parts._replace(netloc=f"{user}@{host}" if user else host)
    done = subprocess.run([*argv, f"--dbname={urlunsplit(parts)}"], env=env,
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {done.stderr.strip()[-2000:]}")


# Backup -----------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


async def database_facts(conn: asyncpg.Connection) -> tuple[int, int, dict[str, int]]:
    """(server major version, schema version, rows per table) of the database."""
    major = int(await conn.fetchval("SHOW server_version_num")) // 10000
    schema = int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations"))
    counts = {}
    for row in await conn.fetch(_TABLES):
        # Table names come from the catalog, quoted by format('%I').
        counts[row["name"]] = int(await conn.fetchval(f"SELECT count(*) FROM {row['name']}"))
    return major, schema, counts


def _storage_files(root: Path | None) -> Iterator[Path]:
    if root is None or not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith(".tmp"):
            yield path


def write_backup(
    output: Path,
    *,
    url: str,
    server_major: int,
    schema_version: int,
    row_counts: dict[str, int],
    storage_root: Path | None,
) -> BackupReport:
    """Dump the database and archive it with the storage files and a manifest."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="skybound-backup-") as work:
        dump = Path(work) / DUMP_MEMBER
        _run([pg_tool("pg_dump", server_major), "--format=custom", f"--file={dump}"], url)
        members: list[dict[str, Any]] = [
            {"name": DUMP_MEMBER, "bytes": dump.stat().st_size, "sha256": _sha256(dump)}
        ]
        partial = output.with_name(output.name + ".partial")
        with tarfile.open(partial, "w") as archive:
            archive.add(dump, arcname=DUMP_MEMBER)
            files = 0
            for path in _storage_files(storage_root):
                assert storage_root is not None
                name = FILES_PREFIX + path.relative_to(storage_root).as_posix()
                members.append({"name": name, "bytes": path.stat().st_size,
                                "sha256": _sha256(path)})  # fmt: skip
                archive.add(path, arcname=name)
                files += 1
            manifest = {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "created_at": datetime.now(UTC).isoformat(),
                "schema_version": schema_version,
                "postgres_major": server_major,
                "row_counts": row_counts,
                "members": members,
            }
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST_MEMBER)
            info.size = len(data)
            info.mtime = int(datetime.now(UTC).timestamp())
            archive.addfile(info, io.BytesIO(data))
        # Renamed only when complete: a backup that died half-way is never mistaken for one.
        partial.replace(output)
    return BackupReport(
        path=output,
        bytes=output.stat().st_size,
        tables=len(row_counts),
        rows=sum(row_counts.values()),
        files=files,
        schema_version=schema_version,
    )


# Restore ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UnpackedBackup:
    directory: Path
    manifest: dict[str, Any]

    @property
    def dump(self) -> Path:
        return self.directory / DUMP_MEMBER

    def files(self) -> Iterator[tuple[str, Path]]:
        """(storage key, extracted path) of every stored file."""
        for member in self.manifest["members"]:
            name = member["name"]
            if name.startswith(FILES_PREFIX):
                yield name[len(FILES_PREFIX) :], self.directory / name


@contextlib.contextmanager
def unpacked(archive_path: Path, *, newest_schema: int) -> Iterator[UnpackedBackup]:
    """The archive extracted to a temporary directory, every member checked against the
    manifest (size and SHA-256), the schema no newer than this code knows."""
    if not archive_path.is_file():
        raise BackupError(f"{archive_path}: no such file")
    with tempfile.TemporaryDirectory(prefix="skybound-restore-") as work:
        directory = Path(work)
        try:
            with tarfile.open(archive_path, "r") as archive:
                # The data filter refuses absolute paths, '..', links out and devices.
                archive.extractall(directory, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"{archive_path}: not a readable backup archive ({exc})") from exc
        manifest_path = directory / MANIFEST_MEMBER
        if not manifest_path.is_file():
            raise BackupError(f"{archive_path}: no {MANIFEST_MEMBER}: not a Skybound backup")
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
            raise BackupError(f"{archive_path}: not a Skybound backup of format {FORMAT_VERSION}")
        for member in manifest["members"]:
            path = directory / member["name"]
            if not path.is_file():
                raise BackupError(f"{member['name']} is listed in the manifest but missing")
            if path.stat().st_size != member["bytes"] or _sha256(path) != member["sha256"]:
                raise BackupError(f"{member['name']} does not match its checksum: damaged")
        if manifest["schema_version"] > newest_schema:
            raise BackupError(
                f"the backup's schema version {manifest['schema_version']} is newer than this "
                f"Skybound's ({newest_schema}): restore it with a newer release"
            )
        yield UnpackedBackup(directory, manifest)


async def is_empty(conn: asyncpg.Connection) -> bool:
    """Whether the database has no table of its own."""
    return not await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public')"
    )


async def clear(conn: asyncpg.Connection) -> None:
    """Drop everything in the public schema (a restore told to replace the database)."""
    await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")


def restore_dump(backup: UnpackedBackup, *, url: str, server_major: int) -> None:
    """``pg_restore`` the dump in one transaction: all of it, or nothing."""
    argv = [pg_tool("pg_restore", server_major), "--single-transaction", "--exit-on-error",
            "--no-owner", "--no-privileges", str(backup.dump)]  # fmt: skip
    _run(argv, url)


def restore_files(backup: UnpackedBackup, storage_root: Path) -> int:
    count = 0
    for key, source in backup.files():
        target = storage_root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        count += 1
    return count
