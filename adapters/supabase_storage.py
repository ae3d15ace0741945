"""Files in a private bucket of Supabase Storage, through storage3 (the client supabase-py uses).

Storage answers most failures with HTTP 400 and puts the real status in the JSON body
(``{"statusCode": "404", "error": "NoSuchKey", ...}``); storage3 exposes that body as
``StorageApiError.status`` and ``.code``, so a missing object is told apart from a missing
bucket or a refused key by those, never by the HTTP status.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from storage3 import AsyncStorageClient
from storage3.exceptions import StorageApiError
from storage3.types import FileOptions
from storage3.utils import StorageException

from adapters.storage import StorageError, check_key

log = logging.getLogger(__name__)

# Current servers put the error code in "error"; older ones a legacy name.
_MISSING_OBJECT = frozenset({"NoSuchKey", "not_found"})
_MISSING_BUCKET = frozenset({"NoSuchBucket", "Bucket not found"})
# What a call can fail with: an answer Storage refused (StorageApiError), a transport
# failure, or an answer storage3 could not read (pydantic's ValidationError is a ValueError).
_FAILURES = (StorageException, httpx.HTTPError, ValueError)
_TIMEOUT = httpx.Timeout(20.0, connect=5.0)
# Keys are overwritten in place (a re-rendered e-ticket) and Skybound serves the bytes
# itself, so no CDN or cache in between may keep an old copy: Storage stores max-age=0.
_CACHE_SECONDS = "0"


def storage_endpoint(supabase_url: str) -> str:
    """Storage's REST root in a Supabase project (storage3 wants the trailing slash)."""
    return supabase_url.rstrip("/") + "/storage/v1/"


def _says(exc: Exception, status: str, codes: frozenset[str]) -> bool:
    return isinstance(exc, StorageApiError) and str(exc.status) == status and exc.code in codes


class SupabaseStorage:
    """One bucket; a key is the object's path in it."""

    def __init__(self, http: httpx.AsyncClient, supabase_url: str, service_role_key: str,
                 bucket: str) -> None:  # fmt: skip
        self.http = http
        self.bucket = bucket
        # Both headers carry the service-role key, as supabase-py sends them: the API gateway
        # checks `apikey`, Storage takes the role from the bearer token (service_role
        # bypasses row-level security).
        headers = {"apikey": service_role_key, "Authorization": f"Bearer {service_role_key}"}
        self._client = AsyncStorageClient(storage_endpoint(supabase_url), headers, http_client=http)
        self._files = self._client.from_(bucket)

    @classmethod
    @asynccontextmanager
    async def connect(cls, supabase_url: str, service_role_key: str,
                      bucket: str) -> AsyncIterator[SupabaseStorage]:  # fmt: skip
        """A storage whose HTTP client is closed on exit."""
        # No redirects: httpx drops Authorization for another host, but not `apikey`.
        http = httpx.AsyncClient(timeout=_TIMEOUT, http2=True, follow_redirects=False)
        try:
            yield cls(http, supabase_url, service_role_key, bucket)
        finally:
            await http.aclose()

    def _error(self, action: str, exc: Exception) -> StorageError:
        if isinstance(exc, StorageApiError):
            return StorageError(
                f"Supabase Storage refused to {action} (bucket {self.bucket!r}): "
                f"status {exc.status}, {exc.code}: {exc.message}"
            )
        return StorageError(
            f"Supabase Storage could not {action} (bucket {self.bucket!r}): "
            f"{type(exc).__name__}: {exc}"
        )

    async def ensure_bucket(self, *, create: bool) -> None:
        """Check at startup that the key reaches the bucket and that it is private; create it
        when it is missing and `create` allows.

        A wrong key fails here rather than later: the gateway refuses an unknown key, and with
        a project's anon key row-level security hides the bucket, which cannot be created.
        """
        try:
            found = await self._client.get_bucket(self.bucket)
        except _FAILURES as exc:
            if not _says(exc, "404", _MISSING_BUCKET):
                raise self._error("read the bucket", exc) from exc
            if not create:
                raise StorageError(
                    f"Supabase Storage has no bucket {self.bucket!r}: create it (private), "
                    "or set SKYBOUND_STORAGE_CREATE_BUCKET=true"
                ) from exc
            await self._create_bucket()
            return
        if found.public:
            raise StorageError(
                f"Supabase Storage bucket {self.bucket!r} is public: anyone could download "
                "avatars and e-tickets by path. Make it private."
            )

    async def _create_bucket(self) -> None:
        try:
            await self._client.create_bucket(self.bucket, options={"public": False})
        except _FAILURES as exc:
            # Another worker starting at the same moment may have created it first.
            if not (isinstance(exc, StorageApiError) and str(exc.status) == "409"):
                raise self._error("create the bucket", exc) from exc
        else:
            log.info("created the private Supabase Storage bucket %r", self.bucket)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = check_key(key)
        options: FileOptions = {"content-type": content_type, "upsert": "true",
                                "cache-control": _CACHE_SECONDS}  # fmt: skip
        try:
            await self._files.upload(path, data, options)
        except _FAILURES as exc:
            raise self._error(f"write {key!r}", exc) from exc

    async def get(self, key: str) -> bytes | None:
        path = check_key(key)
        try:
            return await self._files.download(path)
        except _FAILURES as exc:
            if _says(exc, "404", _MISSING_OBJECT):
                return None
            raise self._error(f"read {key!r}", exc) from exc

    async def delete(self, key: str) -> None:
        # Removing a missing object is not an error: Storage lists what it removed.
        path = check_key(key)
        try:
            await self._files.remove([path])
        except _FAILURES as exc:
            raise self._error(f"delete {key!r}", exc) from exc
