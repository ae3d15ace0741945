"""Where files live: a local directory by default, or Supabase Storage when configured."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from foundation.settings import Settings

log = logging.getLogger(__name__)

_KEY = re.compile(r"^[a-z0-9][a-z0-9/_.-]{0,200}$")


class Storage(Protocol):
    """Files by key. `get` is None only for a missing file; a backend that cannot answer
    raises `StorageError`. `put` replaces and `delete` of a missing key is a no-op."""

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes | None: ...

    async def delete(self, key: str) -> None: ...


class StorageError(Exception):
    """The storage backend failed or refused: never a missing file, which is None."""


def check_key(key: str) -> str:
    """The key itself, if it is a relative path with no way out of its root."""
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"bad storage key {key!r}")
    return key


class LocalStorage:
    """Files under a directory; keys are checked so none can escape it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(path.suffix + ".partial")
            partial.write_bytes(data)
            partial.replace(path)  # atomic: readers never see half a file

        await asyncio.to_thread(write)

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, True)


@asynccontextmanager
async def open_storage(settings: Settings) -> AsyncIterator[Storage]:
    """The configured storage, open until the context exits."""
    if settings.effective_storage_backend == "local":
        yield LocalStorage(settings.home / "storage")
        return
    url, key = settings.supabase_url, settings.supabase_service_role_key
    if not (url and key):
        raise RuntimeError(
            "SKYBOUND_STORAGE_BACKEND=supabase needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY"
        )
    try:
        from adapters.supabase_storage import SupabaseStorage
    except ModuleNotFoundError as exc:  # storage3 is an optional dependency
        raise RuntimeError(
            f"Supabase Storage needs {exc.name}: pip install 'skybound[supabase]'"
        ) from exc
    async with SupabaseStorage.connect(url, key, settings.storage_bucket) as storage:
        await storage.ensure_bucket(create=settings.storage_create_bucket)
        log.info("files are kept in Supabase Storage, bucket %r", settings.storage_bucket)
        yield storage
