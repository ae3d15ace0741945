"""Run: .venv/bin/python -m bench.auth [--duration 10] [--connections 32]

Starts the bench server on an embedded PostgreSQL in a temporary home, then
loads, with wrk, in one run: the anonymous twin of GET /v1/me, GET /v1/me with
an HS256 token, and GET /v1/me with an ES256 token verified through the cached
JWKS. Reports requests/s and the throughput auth costs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bench.auth.server import FIXED_USER

ROOT = Path(__file__).resolve().parents[2]
REPORT_LUA = ROOT / "bench" / "lua" / "report.lua"
SECRET = "bench-secret-for-hs256-tokens-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_ready(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("bench server did not become ready")


def _token(key: object, algorithm: str, headers: dict[str, str] | None = None) -> str:
    now = int(time.time())
    claims = {"sub": str(FIXED_USER), "aud": "authenticated", "role": "authenticated",
              "iat": now, "exp": now + 3600, "email": "bench@example.com"}  # fmt: skip
    return jwt.encode(claims, key, algorithm, headers=headers)  # type: ignore[arg-type]


def _wrk(url: str, token: str | None, seconds: int, connections: int) -> dict[str, float]:
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(REPORT_LUA)]
    if token:
        argv += ["-H", f"Authorization: Bearer {token}"]
    done = subprocess.run([*argv, url], capture_output=True, text=True, timeout=seconds + 30)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            raw = json.loads(line.removeprefix("BENCH_RESULT "))
            errors = sum(raw["errors"].values())
            return {"rps": raw["requests"] / (raw["duration_us"] / 1e6),
                    "p50": raw["p50_us"] / 1000, "p99": raw["p99_us"] / 1000,
                    "errors": errors}  # fmt: skip
    raise SystemExit(f"wrk gave no result:\n{done.stdout}\n{done.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench.auth")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="alternate the variants this often")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench.auth needs wrk: apt-get install -y wrk", file=sys.stderr)
        return 2
    ec_key = ec.generate_private_key(ec.SECP256R1())
    public_pem = (
        ec_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    home = Path(tempfile.mkdtemp(prefix="skybound-bench-auth-"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(SKYBOUND_HOME=str(home), SUPABASE_JWT_SECRET=SECRET,
               BENCH_ES256_PUBLIC_PEM=public_pem, PYTHONPATH=str(ROOT))  # fmt: skip
    server = subprocess.Popen([sys.executable, "-m", "bench.auth.server", str(port)], env=env,
                              start_new_session=True)  # fmt: skip
    variants = {
        "GET /v1/me without auth (same handler)": ("/bench/me-anonymous", None),
        "GET /v1/me, HS256": ("/v1/me", _token(SECRET, "HS256")),
        "GET /v1/me, ES256 (cached JWKS)": ("/v1/me", _token(ec_key, "ES256", {"kid": "bench-1"})),
    }
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    try:
        _wait_ready(port)
        base = f"http://127.0.0.1:{port}"
        for _url, token in variants.values():  # warm-up: profile row, JWKS fetch, caches
            _wrk(base + _url, token, 2, args.connections)
        for _ in range(args.rounds):
            for name, (path, token) in variants.items():
                results[name].append(_wrk(base + path, token, args.duration, args.connections))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
        shutil.rmtree(home, ignore_errors=True)

    def mean(name: str, key: str) -> float:
        return sum(r[key] for r in results[name]) / len(results[name])

    baseline = mean(next(iter(variants)), "rps")
    lines = [
        f"Command: `.venv/bin/python -m bench.auth --duration {args.duration} "
        f"--connections {args.connections} --rounds {args.rounds}`",
        "",
        "| variant | requests/s | p50 | p99 | errors | throughput vs no auth | auth cost |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in variants:
        rps = mean(name, "rps")
        lines.append(
            f"| {name} | {rps:,.0f} | {mean(name, 'p50'):.2f} ms | {mean(name, 'p99'):.2f} ms "
            f"| {int(mean(name, 'errors'))} | {rps / baseline:.2f} | {1 - rps / baseline:.1%} |"
        )
    report = "\n".join(lines)
    print(report)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "auth.md").write_text(report + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
