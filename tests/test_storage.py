"""File storage: the contract both backends keep, how the backend is chosen, and Supabase
Storage through the real storage3 client.

Supabase Storage is not reachable from the test machines, so the Supabase tests talk to
`tests/storage_api.py`, a local stand-in for the part of Storage's REST API that storage3
calls here (upload with upsert, download, remove, get and create bucket, the `apikey` and
bearer checks, and Storage's error bodies). It is a protocol stand-in, not Supabase: these
tests prove that Skybound drives storage3 correctly against that protocol, not that a
Supabase project accepts the requests. The file's docstring lists what it covers.
"""

from __future__ import annotations

import io
import logging
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from PIL import Image
from storage3 import AsyncStorageClient
from storage3.exceptions import StorageApiError

from adapters.storage import LocalStorage, Storage, StorageError
from adapters.storage_backend import open_storage
from adapters.supabase_storage import SupabaseStorage
from api.keys import storage_key
from foundation.settings import Settings
from server.app import create_app
from tests.storage_api import Bucket, StorageAPI, StoredObject, no_such_bucket
from tests.tokens import access_token

SERVICE_KEY = "service-role-key-for-tests-only-5f0c"
BUCKET = "skybound"
SUPABASE_ONLY = {"supabase_url": "https://p.supabase.co", "supabase_service_role_key": "k"}


@pytest.fixture
def storage_api() -> StorageAPI:
    """The stand-in's buckets and objects (no bucket yet), accepting SERVICE_KEY."""
    return StorageAPI(SERVICE_KEY)


@pytest.fixture
async def project_url(aiohttp_server: Any, storage_api: StorageAPI) -> str:
    """The URL of a "Supabase project" whose Storage is the stand-in, on 127.0.0.1."""
    server = await aiohttp_server(storage_api.app())
    return str(server.make_url("/"))


@pytest.fixture
async def supabase(project_url: str) -> AsyncIterator[SupabaseStorage]:
    """A SupabaseStorage on the stand-in, its bucket created by the startup check."""
    async with SupabaseStorage.connect(project_url, SERVICE_KEY, BUCKET) as storage:
        await storage.ensure_bucket(create=True)
        yield storage


@pytest.fixture(params=["local", "supabase"])
def storage(request: pytest.FixtureRequest, tmp_path: Path, supabase: SupabaseStorage) -> Storage:
    """Each backend in turn, for the contract they share."""
    return LocalStorage(tmp_path / "storage") if request.param == "local" else supabase


def _webp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(out, format="WEBP")
    return out.getvalue()


# The contract -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "data", "content_type"),
    [
        ("avatars/0b6f6a4e-1b7c-4c38-9a7e-0d1f1d2a3b4c.webp", _webp(), "image/webp"),
        ("tickets/7d3c/0162345678901.pdf", b"%PDF-1.7\n" + bytes(range(256)), "application/pdf"),
        ("empty.bin", b"", "application/octet-stream"),
    ],
    ids=["webp", "pdf", "empty"],
)
async def test_put_then_get_returns_the_same_bytes(
    storage: Storage, key: str, data: bytes, content_type: str
) -> None:
    await storage.put(key, data, content_type)
    assert await storage.get(key) == data


async def test_put_replaces_what_the_key_held(storage: Storage) -> None:
    await storage.put("tickets/b/1.pdf", b"first", "application/pdf")
    await storage.put("tickets/b/1.pdf", b"second", "application/pdf")
    assert await storage.get("tickets/b/1.pdf") == b"second"


async def test_a_missing_file_is_none(storage: Storage) -> None:
    await storage.put("avatars/someone-else.webp", b"x", "image/webp")
    assert await storage.get("avatars/nobody.webp") is None


async def test_delete_removes_the_file_and_is_idempotent(storage: Storage) -> None:
    await storage.put("avatars/a.webp", b"a", "image/webp")
    await storage.put("avatars/b.webp", b"b", "image/webp")
    await storage.delete("avatars/a.webp")
    await storage.delete("avatars/a.webp")
    await storage.delete("avatars/never-there.webp")
    assert await storage.get("avatars/a.webp") is None
    assert await storage.get("avatars/b.webp") == b"b"


@pytest.mark.parametrize("key", ["../escape", "avatars/../../etc/passwd", "/abs", "Upper.webp"])
async def test_keys_that_could_escape_are_refused(storage: Storage, key: str) -> None:
    with pytest.raises(ValueError, match="bad storage key"):
        await storage.put(key, b"x", "text/plain")
    with pytest.raises(ValueError, match="bad storage key"):
        await storage.get(key)


# Choosing the backend ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "backend"),
    [
        ({}, "local"),
        ({"supabase_url": "https://p.supabase.co"}, "local"),  # Supabase Auth only
        ({"supabase_service_role_key": "k"}, "local"),
        (SUPABASE_ONLY, "supabase"),
        ({**SUPABASE_ONLY, "storage_backend": "local"}, "local"),
        ({"storage_backend": "supabase"}, "supabase"),
    ],
)
def test_auto_means_supabase_only_when_url_and_service_key_are_set(
    given: dict[str, Any], backend: str
) -> None:
    assert Settings(**given).effective_storage_backend == backend


def test_the_environment_names_of_the_storage_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPABASE_URL", "https://p.supabase.co")
    monkeypatch.setenv("SUPABASE_SERVICE_ROLE_KEY", SERVICE_KEY)
    monkeypatch.setenv("SKYBOUND_STORAGE_BUCKET", "files")
    monkeypatch.setenv("SKYBOUND_STORAGE_CREATE_BUCKET", "false")
    settings = Settings.from_env()
    assert settings.effective_storage_backend == "supabase"
    assert (settings.storage_bucket, settings.storage_create_bucket) == ("files", False)
    assert SERVICE_KEY not in repr(settings)


async def test_the_supabase_backend_without_a_service_key_fails_at_startup(
    tmp_path: Path,
) -> None:
    settings = Settings(home=tmp_path, storage_backend="supabase",
                        supabase_url="https://p.supabase.co")  # fmt: skip
    with pytest.raises(RuntimeError, match="SUPABASE_SERVICE_ROLE_KEY"):
        async with open_storage(settings):
            pass


async def test_local_storage_remains_the_default(client: Any, settings: Settings) -> None:
    storage = client.app[storage_key]
    assert isinstance(storage, LocalStorage)
    assert storage.root == settings.home / "storage"


# Supabase Storage -------------------------------------------------------------------------


async def test_objects_keep_their_content_type_and_are_never_cached(
    supabase: SupabaseStorage, storage_api: StorageAPI
) -> None:
    await supabase.put("tickets/b/1.pdf", b"%PDF", "application/pdf")
    stored = storage_api.objects[BUCKET, "tickets/b/1.pdf"]
    assert (stored.content_type, stored.cache_control) == ("application/pdf", "max-age=0")


async def test_startup_creates_a_missing_bucket_private(
    supabase: SupabaseStorage, storage_api: StorageAPI
) -> None:
    assert storage_api.buckets[BUCKET].public is False
    assert ("POST", "/storage/v1/bucket") in storage_api.requests


async def test_startup_uses_an_existing_private_bucket_as_it_is(
    project_url: str, storage_api: StorageAPI
) -> None:
    storage_api.buckets[BUCKET] = Bucket(BUCKET)
    storage_api.objects[BUCKET, "avatars/kept.webp"] = StoredObject(b"kept", "image/webp", "")
    async with SupabaseStorage.connect(project_url, SERVICE_KEY, BUCKET) as storage:
        await storage.ensure_bucket(create=True)
        assert await storage.get("avatars/kept.webp") == b"kept"
    assert ("POST", "/storage/v1/bucket") not in storage_api.requests


async def test_a_missing_bucket_is_an_error_when_creation_is_off(
    project_url: str, storage_api: StorageAPI
) -> None:
    async with SupabaseStorage.connect(project_url, SERVICE_KEY, BUCKET) as storage:
        with pytest.raises(StorageError, match=r"no bucket 'skybound'.*create it"):
            await storage.ensure_bucket(create=False)
    assert storage_api.buckets == {}


async def test_a_public_bucket_is_refused(project_url: str, storage_api: StorageAPI) -> None:
    storage_api.buckets[BUCKET] = Bucket(BUCKET, public=True)
    async with SupabaseStorage.connect(project_url, SERVICE_KEY, BUCKET) as storage:
        with pytest.raises(StorageError, match="is public"):
            await storage.ensure_bucket(create=True)


async def test_a_bucket_another_worker_just_created_is_fine(
    aiohttp_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class CreatedMeanwhile(StorageAPI):
        """Reads the bucket as missing, then finds it exists when asked to create it."""

        async def _get_bucket(self, request: web.Request) -> web.Response:
            self.buckets[BUCKET] = Bucket(BUCKET)  # by the other worker, just after our read
            raise no_such_bucket()

    api = CreatedMeanwhile(SERVICE_KEY)
    server = await aiohttp_server(api.app())
    caplog.set_level(logging.INFO, "adapters.supabase_storage")
    async with SupabaseStorage.connect(str(server.make_url("/")), SERVICE_KEY, BUCKET) as storage:
        await storage.ensure_bucket(create=True)
    assert ("POST", "/storage/v1/bucket") in api.requests
    assert "created" not in caplog.text


async def test_a_wrong_key_is_an_error_not_a_missing_file(
    project_url: str, supabase: SupabaseStorage
) -> None:
    await supabase.put("avatars/a.webp", b"a", "image/webp")
    wrong = "not-the-service-key"
    async with SupabaseStorage.connect(project_url, wrong, BUCKET) as storage:
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: storage.get("avatars/a.webp"),
            lambda: storage.get("avatars/missing.webp"),
            lambda: storage.put("avatars/a.webp", b"b", "image/webp"),
            lambda: storage.delete("avatars/a.webp"),
            lambda: storage.ensure_bucket(create=True),
        ]
        for call in calls:
            with pytest.raises(StorageError, match=r"status 401.*Invalid API key") as caught:
                await call()
            assert wrong not in str(caught.value)
    assert await supabase.get("avatars/a.webp") == b"a"


async def test_the_anon_key_is_refused_at_startup(
    project_url: str, supabase: SupabaseStorage
) -> None:
    # Row-level security hides the bucket from anon, so a get would read "not found":
    # the startup check is what turns that mistake into an error.
    async with SupabaseStorage.connect(project_url, "anon-key", BUCKET) as storage:
        with pytest.raises(StorageError, match=r"create the bucket.*status 403"):
            await storage.ensure_bucket(create=True)
        with pytest.raises(StorageError, match="no bucket"):
            await storage.ensure_bucket(create=False)


async def test_a_bucket_deleted_later_is_an_error_not_a_missing_file(
    supabase: SupabaseStorage, storage_api: StorageAPI
) -> None:
    del storage_api.buckets[BUCKET]
    with pytest.raises(StorageError, match="status 404, NoSuchBucket"):
        await supabase.get("avatars/a.webp")
    with pytest.raises(StorageError, match="status 404, NoSuchBucket"):
        await supabase.put("avatars/a.webp", b"a", "image/webp")


async def test_unreachable_storage_is_a_storage_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with SupabaseStorage.connect(f"http://127.0.0.1:{port}", SERVICE_KEY, BUCKET) as storage:
        with pytest.raises(StorageError, match=r"could not read 'avatars/a\.webp'.*ConnectError"):
            await storage.get("avatars/a.webp")


async def test_bad_keys_never_reach_storage(
    supabase: SupabaseStorage, storage_api: StorageAPI
) -> None:
    before = list(storage_api.requests)
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: supabase.get("../x"),
        lambda: supabase.put("a/../../b", b"", "text/plain"),
        lambda: supabase.delete("/etc/passwd"),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="bad storage key"):
            await call()
    assert storage_api.requests == before


async def test_the_stand_in_checks_both_headers_as_supabase_does(project_url: str) -> None:
    url = project_url + "storage/v1/"
    cases = [
        ({}, "401"),
        ({"apikey": "someone-else"}, "401"),
        ({"apikey": SERVICE_KEY}, "403"),  # the gateway lets it through; Storage refuses
        ({"apikey": SERVICE_KEY, "Authorization": "Bearer forged"}, "403"),
    ]
    for headers, status in cases:
        async with AsyncStorageClient(url, headers) as client:
            with pytest.raises(StorageApiError) as caught:
                await client.from_(BUCKET).upload("a.txt", b"a", {"content-type": "text/plain"})
            assert str(caught.value.status) == status


# The application on Supabase Storage -------------------------------------------------------


@pytest.fixture
def supabase_settings(settings: Settings, project_url: str) -> Settings:
    """The test settings for a Supabase project whose Storage is the stand-in."""
    return settings.model_copy(
        update={"supabase_url": project_url, "supabase_service_role_key": SERVICE_KEY}
    )


async def test_avatars_are_kept_in_supabase_storage(
    aiohttp_client: Any,
    supabase_settings: Settings,
    storage_api: StorageAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = await aiohttp_client(create_app(supabase_settings))
    assert isinstance(client.app[storage_key], SupabaseStorage)
    assert storage_api.buckets[BUCKET].public is False

    user_id = uuid.uuid4()
    auth = {"Authorization": f"Bearer {access_token(user_id, email='ada@example.com')}"}
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 40)).save(image, format="PNG")
    put = await client.put("/v1/me/avatar", data=image.getvalue(),
                           headers={**auth, "Content-Type": "image/png"})  # fmt: skip
    assert put.status == 204
    stored = storage_api.objects[BUCKET, f"avatars/{user_id}.webp"]
    assert stored.content_type == "image/webp"

    served = await client.get("/v1/me/avatar", headers=auth)
    assert served.status == 200
    assert served.headers["Content-Type"] == "image/webp"
    assert await served.read() == stored.data
    assert not (supabase_settings.home / "storage").exists()

    assert (await client.delete("/v1/me", headers=auth)).status == 204
    assert (BUCKET, f"avatars/{user_id}.webp") not in storage_api.objects
    # Supabase Auth still has the user, but Skybound refuses the tokens from before.
    assert (await client.get("/v1/me/avatar", headers=auth)).status == 401
    assert SERVICE_KEY not in caplog.text


async def test_the_storage_http_client_is_closed_on_shutdown(
    aiohttp_client: Any, supabase_settings: Settings
) -> None:
    client = await aiohttp_client(create_app(supabase_settings))
    storage = client.app[storage_key]
    assert isinstance(storage, SupabaseStorage)
    assert not storage.http.is_closed
    await client.close()
    assert storage.http.is_closed
