"""Which storage holds the files: chosen once, from the settings, when the app starts.

Apart from the backends themselves, so that each of them depends on the storage
interface and nothing depends on both ways round."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from adapters.storage import LocalStorage, Storage
from foundation.settings import Settings

log = logging.getLogger(__name__)


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
