"""The ``skybound backup``, ``skybound restore`` and ``skybound archive`` commands."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from foundation.settings import Settings


def add_commands(commands: Any) -> None:
    backup_cmd = commands.add_parser(
        "backup", help="archive the database and the stored files, with a manifest"
    )
    backup_cmd.add_argument(
        "--output", "-o", type=Path,
        help="the archive to write (default: SKYBOUND_HOME/backups/skybound-<time>.tar)",
    )  # fmt: skip
    restore_cmd = commands.add_parser("restore", help="restore a backup into an empty database")
    restore_cmd.add_argument("file", type=Path, help="an archive made by skybound backup")
    restore_cmd.add_argument(
        "--force", action="store_true",
        help="replace a database (and stored files) that are not empty",
    )  # fmt: skip


def add_archive_command(commands: Any) -> None:
    archive_cmd = commands.add_parser(
        "archive", help="move bookings that finished travelling long ago to the archive"
    )
    archive_cmd.add_argument(
        "--after-days", type=int,
        help="archive bookings whose last flight landed this many days ago "
        "(SKYBOUND_ARCHIVE_AFTER_DAYS, default 365)",
    )  # fmt: skip


async def archive(settings: Settings, url: str, after_days: int | None) -> int:
    from domain.bookings.archive import archive_due
    from foundation.database import create_pool

    days = after_days or settings.archive_after_days
    pool = await create_pool(url, min_size=1, max_size=1, application_name="skybound-archive")
    try:
        moved = await archive_due(pool, after_days=days)
    finally:
        await pool.close()
    print(f"archived {moved:,} bookings whose last flight landed more than {days} days ago")
    return 0


def _storage_root(settings: Settings) -> Path | None:
    return settings.home / "storage" if settings.effective_storage_backend == "local" else None


async def backup(settings: Settings, url: str, output: Path | None) -> int:
    from foundation.backups import BackupError, database_facts, write_backup
    from foundation.database import connect

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = output or settings.home / "backups" / f"skybound-{stamp}.tar"
    conn = await connect(url, application_name="skybound-backup")
    try:
        major, schema, counts = await database_facts(conn)
    finally:
        await conn.close()
    root = _storage_root(settings)
    try:
        report = write_backup(output, url=url, server_major=major, schema_version=schema,
                              row_counts=counts, storage_root=root)  # fmt: skip
    except BackupError as exc:
        print(f"skybound backup: {exc}", file=sys.stderr)
        return 1
    print(
        f"backed up {report.tables} tables ({report.rows:,} rows, schema {report.schema_version})"
        f" and {report.files} files to {report.path} ({report.bytes:,} bytes)"
    )
    if root is None:
        print("  files in Supabase Storage are not in this backup: back up the bucket there")
    return 0


async def restore(settings: Settings, url: str, archive: Path, force: bool) -> int:
    from domain.change_log import start_new_epoch
    from foundation.backups import (
        BackupError,
        clear,
        database_facts,
        is_empty,
        restore_dump,
        restore_files,
        unpacked,
    )
    from foundation.database import connect
    from foundation.migrator import load_migrations, migrate

    newest = max(m.version for m in load_migrations())
    root = _storage_root(settings)
    conn = await connect(url, application_name="skybound-restore")
    try:
        with unpacked(archive, newest_schema=newest) as backup:
            major = int(await conn.fetchval("SHOW server_version_num")) // 10000
            has_files = root is not None and root.is_dir() and any(root.rglob("*"))
            if not force and (not await is_empty(conn) or has_files):
                raise BackupError(
                    "the target database or file storage is not empty; restore into an empty "
                    "one, or pass --force to replace what is there"
                )
            if not await is_empty(conn):
                await clear(conn)
            restore_dump(backup, url=url, server_major=major)
            _, _, counts = await database_facts(conn)
            expected = backup.manifest["row_counts"]
            if counts != expected:
                differ = sorted(t for t in expected.keys() | counts.keys()
                                if expected.get(t) != counts.get(t))  # fmt: skip
                raise BackupError(f"restored row counts differ from the manifest: {differ}")
            epoch = await start_new_epoch(conn)
            files = restore_files(backup, root) if root is not None else 0
            applied = await migrate(conn)
    except BackupError as exc:
        print(f"skybound restore: {exc}", file=sys.stderr)
        return 1
    finally:
        await conn.close()
    manifest = backup.manifest
    print(
        f"restored {len(counts)} tables ({sum(counts.values()):,} rows, schema "
        f"{manifest['schema_version']}) and {files} files from the backup of "
        f"{manifest['created_at']}; change log epoch now {epoch}"
        + (f"; migrations applied: {applied}" if applied else "")
    )
    return 0
