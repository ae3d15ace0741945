"""The benchmark's server: Skybound's app plus bench-only routes.

``GET /bench/me-anonymous`` is the no-auth twin of ``GET /v1/me``: declared through
the same ``ApiRoutes`` wrapper, it runs the same domain call with the same
arguments (the fixed user's profile read, the roles the authenticated request
ends up with), so the two differ only by authentication. ``/bench/jwks.json``
publishes the ES256 public key the runner signs with, so the verifier's JWKS
path is the real one.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization

from api.keys import pool_key
from api.routes import ApiRoutes
from domain.profiles import Profile, ensure_profile
from foundation.settings import Settings
from server.app import create_app

FIXED_USER = uuid.UUID("00000000-0000-4000-8000-00000000be11")
FIXED_EMAIL = "bench@example.com"
ES256_KID = "bench-1"

bench_routes = ApiRoutes()


@bench_routes.get("/bench/me-anonymous", summary="GET /v1/me without auth", response=Profile)
async def anonymous_me(request: web.Request) -> Profile:
    return await ensure_profile(
        request.app[pool_key], FIXED_USER, FIXED_EMAIL, frozenset({"passenger"})
    )


def jwks_document(public_pem: bytes) -> dict[str, Any]:
    public_key = serialization.load_pem_public_key(public_pem)
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public_key))  # type: ignore[arg-type]
    return {"keys": [{**jwk, "kid": ES256_KID, "alg": "ES256", "use": "sig"}]}


def bench_app(settings: Settings, jwks: dict[str, Any]) -> web.Application:
    """Skybound's app with the no-auth twin and the JWKS route."""
    app = create_app(settings)

    async def keys(request: web.Request) -> web.Response:
        return web.json_response(jwks)

    bench_routes.add_to(app.router)
    app.router.add_get("/bench/jwks.json", keys)
    return app


def bench_settings(port: int) -> Settings:
    return Settings.from_env(
        port=port, jwks_url=f"http://127.0.0.1:{port}/bench/jwks.json", access_log=False,
        log_level="WARNING",
    )  # fmt: skip


def main() -> None:
    port = int(sys.argv[1])
    jwks = jwks_document(os.environ["BENCH_ES256_PUBLIC_PEM"].encode())
    app = bench_app(bench_settings(port), jwks)
    loop: asyncio.AbstractEventLoop
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        loop = asyncio.new_event_loop()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, loop=loop)


if __name__ == "__main__":
    main()
