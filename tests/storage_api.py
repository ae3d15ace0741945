"""A stand-in for Supabase Storage's REST API, for the real storage3 client to talk to.

Not Supabase: no Supabase project or Storage server is reachable from the test machines,
so this small aiohttp app on 127.0.0.1 speaks the part of the protocol that
`adapters.supabase_storage` uses, written from Supabase Storage's documented routes and error
shapes. It covers, under ``/storage/v1``:

- ``GET /bucket/{id}`` and ``POST /bucket`` (the startup check and bucket creation);
- ``POST /object/{bucket}/{path}``: multipart upload, ``x-upsert``, the file part's content
  type and the ``cacheControl`` field (stored as ``max-age=N``);
- ``GET /object/{bucket}/{path}``: download, with the stored Content-Type;
- ``DELETE /object/{bucket}`` with ``{"prefixes": [...]}``: answers the objects removed.

and these behaviours: the API gateway's ``apikey`` check (401, no Storage error body);
Storage's own check of ``Authorization: Bearer <key>``; failures as HTTP 400 with the real
status in the body (``{"statusCode": "404", "code": "NoSuchKey", "error": "NoSuchKey",
"message": ...}``, 500 stays 500); and, for a project's anon key, row-level security without
policies (buckets and objects are invisible, and nothing can be created).

It does not verify JWTs (keys are compared as strings), and it has no signed URLs, image
transforms, listing, moves, resumable uploads, size or MIME limits on buckets, or CDN.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import BodyPartReader, web

PREFIX = "/storage/v1"


@dataclass
class Bucket:
    id: str
    public: bool = False
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    content_type: str
    cache_control: str


class APIError(Exception):
    """A Storage failure rendered as Storage does: HTTP 400 (or 500), status in the body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> web.Response:
        body = {"statusCode": str(self.status), "code": self.code, "error": self.code,
                "message": self.message}  # fmt: skip
        return web.json_response(body, status=500 if self.status == 500 else 400)


def no_such_bucket() -> APIError:
    return APIError(404, "NoSuchBucket", "Bucket not found")


def _row_level_security() -> APIError:
    return APIError(403, "AccessDenied", "new row violates row-level security policy")


class StorageAPI:
    """Buckets and objects in memory, behind the gateway's and Storage's key checks."""

    def __init__(self, service_role_key: str, anon_key: str = "anon-key") -> None:
        self._roles = {service_role_key: "service_role", anon_key: "anon"}
        self.buckets: dict[str, Bucket] = {}
        self.objects: dict[tuple[str, str], StoredObject] = {}
        self.requests: list[tuple[str, str]] = []

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._gateway])
        app.router.add_get(f"{PREFIX}/bucket/{{bucket}}", self._get_bucket)
        app.router.add_post(f"{PREFIX}/bucket", self._create_bucket)
        app.router.add_post(f"{PREFIX}/object/{{bucket}}/{{path:.+}}", self._upload)
        app.router.add_get(f"{PREFIX}/object/{{bucket}}/{{path:.+}}", self._download)
        app.router.add_delete(f"{PREFIX}/object/{{bucket}}", self._remove)
        return app

    @web.middleware
    async def _gateway(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        apikey = request.headers.get("apikey")
        if apikey is None:
            return web.json_response({"message": "No API key found in request"}, status=401)
        if apikey not in self._roles:
            return web.json_response({"message": "Invalid API key"}, status=401)
        try:
            if self._role(request) is None and not _allows_invalid_jwt(request):
                raise APIError(403, "AccessDenied", "signature verification failed")
            response: web.StreamResponse = await handler(request)
            return response
        except APIError as exc:
            return exc.response()

    def _role(self, request: web.Request) -> str | None:
        """The bearer token's role: None for a token Storage would not verify."""
        auth = request.headers.get("Authorization", "")
        return self._roles.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None

    def _visible(self, request: web.Request, name: str) -> Bucket | None:
        # Without storage policies, row-level security shows the anon role nothing.
        return self.buckets.get(name) if self._role(request) == "service_role" else None

    async def _get_bucket(self, request: web.Request) -> web.Response:
        bucket = self._visible(request, request.match_info["bucket"])
        if bucket is None:
            raise no_such_bucket()
        return web.json_response({
            "id": bucket.id, "name": bucket.id, "owner": "", "public": bucket.public,
            "type": "STANDARD", "file_size_limit": None, "allowed_mime_types": None,
            "created_at": bucket.created_at, "updated_at": bucket.created_at,
        })  # fmt: skip

    async def _create_bucket(self, request: web.Request) -> web.Response:
        body = await request.json()
        name = body.get("id") or body["name"]
        if self._role(request) != "service_role":
            raise _row_level_security()
        if name in self.buckets:
            raise APIError(409, "BucketAlreadyExists", "The resource already exists")
        self.buckets[name] = Bucket(name, public=bool(body.get("public", False)))
        return web.json_response({"name": name})

    async def _upload(self, request: web.Request) -> web.Response:
        name, path = request.match_info["bucket"], request.match_info["path"]
        if self._role(request) != "service_role":
            raise _row_level_security()
        if name not in self.buckets:
            raise no_such_bucket()
        cache_seconds, content_type, data = "3600", None, None
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise APIError(400, "InvalidRequest", "Nested multipart")
            if part.name == "cacheControl":
                cache_seconds = await part.text()
            elif part.name == "file":
                content_type = part.headers.get("Content-Type")
                data = await part.read()
        if data is None or content_type is None:
            raise APIError(400, "InvalidRequest", "No content provided")
        if (name, path) in self.objects and request.headers.get("x-upsert") != "true":
            raise APIError(409, "KeyAlreadyExists", "The resource already exists")
        self.objects[name, path] = StoredObject(bytes(data), content_type,
                                                f"max-age={cache_seconds}")  # fmt: skip
        return web.json_response({"Key": f"{name}/{path}", "Id": str(uuid.uuid4())})

    async def _download(self, request: web.Request) -> web.Response:
        name, path = request.match_info["bucket"], request.match_info["path"]
        bucket = self.buckets.get(name)
        if self._role(request) is None and not (bucket and bucket.public):
            raise APIError(403, "AccessDenied", "Access denied to this bucket")
        if bucket is None:
            raise no_such_bucket()
        stored = self.objects.get((name, path)) if self._role(request) == "service_role" else None
        if stored is None:
            raise APIError(404, "NoSuchKey", "Object not found")
        return web.Response(body=stored.data, content_type=None,
                            headers={"Content-Type": stored.content_type,
                                     "Cache-Control": stored.cache_control})  # fmt: skip

    async def _remove(self, request: web.Request) -> web.Response:
        name = request.match_info["bucket"]
        prefixes = (await request.json())["prefixes"]
        removed = []
        for path in prefixes if self._role(request) == "service_role" else []:
            if self.objects.pop((name, path), None) is not None:
                removed.append({"name": path, "bucket_id": name})
        return web.json_response(removed)


def _allows_invalid_jwt(request: web.Request) -> bool:
    # Storage serves GET /object/{bucket}/{path} to unauthenticated callers too (public buckets).
    return request.method == "GET" and request.path.startswith(f"{PREFIX}/object/")
