"""What the auth benchmark and its profiler share: keys, tokens, variants and their wrk runs."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.auth.server import ES256_KID, FIXED_EMAIL, FIXED_USER
from bench.harness.load import parse_wrk, wrk_argv

SECRET = "bench-secret-for-hs256-tokens-0123456789abcdef"


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    path: str
    token: str | None


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def es256_key() -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A fresh signing key and its public half (PEM), for the bench JWKS."""
    key = ec.generate_private_key(ec.SECP256R1())
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return key, public_pem


def token(key: object, algorithm: str, headers: dict[str, str] | None = None, **extra: str) -> str:
    now = int(time.time())
    claims = {"sub": str(FIXED_USER), "aud": "authenticated", "role": "authenticated",
              "iat": now, "exp": now + 3600, "email": FIXED_EMAIL, **extra}  # fmt: skip
    return jwt.encode(claims, key, algorithm, headers=headers)  # type: ignore[arg-type]


def variants(es_key: ec.EllipticCurvePrivateKey) -> list[Variant]:
    """The no-auth twin first: every ratio is taken against it."""
    return [
        Variant("GET /v1/me without auth (same handler, same SQL)", "/bench/me-anonymous", None),
        Variant("GET /v1/me, HS256", "/v1/me", token(SECRET, "HS256")),
        Variant("GET /v1/me, ES256 (cached JWKS)", "/v1/me",
                token(es_key, "ES256", {"kid": ES256_KID})),
    ]  # fmt: skip


def variant_wrk_argv(url: str, bearer: str | None, seconds: float, connections: int) -> list[str]:
    headers = [f"Authorization: Bearer {bearer}"] if bearer else []
    return wrk_argv(url, int(seconds), connections=connections, headers=headers)


def variant_result(stdout: str, stderr: str = "") -> WrkResult:
    raw = parse_wrk(stdout, stderr)
    return WrkResult(requests=raw["requests"], seconds=raw["duration_us"] / 1e6,
                     p50_ms=raw["p50_us"] / 1000, p99_ms=raw["p99_us"] / 1000,
                     errors=sum(raw["errors"].values()))  # fmt: skip


def wrk(url: str, bearer: str | None, seconds: float, connections: int) -> WrkResult:
    done = subprocess.run(variant_wrk_argv(url, bearer, seconds, connections),
                          capture_output=True, text=True, timeout=seconds + 30)  # fmt: skip
    return variant_result(done.stdout, done.stderr)
