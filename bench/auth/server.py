"""The benchmark's server: Skybound's app plus two bench-only routes.

``/bench/me-anonymous`` runs exactly what ``GET /v1/me`` runs for a fixed user,
without authentication; ``/bench/jwks.json`` publishes the ES256 public key
the runner signs with, so the verifier's JWKS path is the real one.
"""

from __future__ import annotations

import json
import os
import sys
import uuid

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization

from domain.profiles import ensure_profile
from server.app import create_app
from server.keys import pool_key
from server.settings import Settings

FIXED_USER = uuid.UUID("00000000-0000-4000-8000-00000000be11")


def main() -> None:
    port = int(sys.argv[1])
    public_pem = os.environ["BENCH_ES256_PUBLIC_PEM"].encode()
    public_key = serialization.load_pem_public_key(public_pem)
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(public_key))  # type: ignore[arg-type]
    jwks = {"keys": [{**jwk, "kid": "bench-1", "alg": "ES256", "use": "sig"}]}
    settings = Settings.from_env(
        port=port, jwks_url=f"http://127.0.0.1:{port}/bench/jwks.json", access_log=False,
        log_level="WARNING",
    )  # fmt: skip
    app = create_app(settings)

    async def anonymous_me(request: web.Request) -> web.Response:
        profile = await ensure_profile(
            request.app[pool_key], FIXED_USER, "bench@example.com", frozenset({"passenger"})
        )
        return web.Response(
            body=profile.__pydantic_serializer__.to_json(profile), content_type="application/json"
        )

    async def keys(request: web.Request) -> web.Response:
        return web.json_response(jwks)

    app.router.add_get("/bench/me-anonymous", anonymous_me)
    app.router.add_get("/bench/jwks.json", keys)
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        import asyncio

        loop = asyncio.new_event_loop()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, loop=loop)


if __name__ == "__main__":
    main()
