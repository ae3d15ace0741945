"""The container image, checked without a Docker engine: the Dockerfile lints clean and
says what a production container needs, and what it installs (the wheel built from the
files it copies, with the extras it names) serves from a fresh virtualenv."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.harness import ServerProcess
from tests.search_world import one_way
from tests.storage_api import StorageAPI

ROOT = Path(__file__).parents[1]
DOCKERFILE = ROOT / "Dockerfile"
PACKAGES = ("server", "streams", "handlers", "sync", "api", "domain", "adapters", "foundation",
            "devtools")  # fmt: skip
# Deployment definitions sit beside the code they deploy; the server never reads them.
NOT_PACKAGE_DATA = ("server/deploy/",)
SERVICE_KEY = "wheel-service-role-key"
BUCKET = "wheel-files"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in _instructions():
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


def _installed_extras() -> set[str]:
    """The extras of the wheel the build stage installs (``skybound-*.whl)[a,b]``)."""
    runs = " ".join(rest for keyword, rest in _stages()[0] if keyword == "RUN")
    match = re.search(r"skybound-\*\.whl\)\[([a-z,]+)\]", runs)
    assert match, "the build stage installs no skybound wheel with extras"
    return set(match.group(1).split(","))


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = Path(sys.executable).with_name("hadolint")
    result = subprocess.run([str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_multi_stage_and_runs_unprivileged() -> None:
    build, runtime = _stages()
    assert re.match(r"\S+ AS build$", build[0][1]), build[0]
    assert not any(keyword == "RUN" and "pip" in rest for keyword, rest in runtime), (
        "the runtime stage installs nothing: it copies the build stage's virtualenv"
    )
    assert ("COPY", "--from=build /opt/skybound /opt/skybound") in runtime
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users, "no USER: the container would run as root"
    assert users[-1] not in ("root", "0"), users


def test_the_image_checks_healthz_and_stops_on_sigterm() -> None:
    runtime = dict(_stages()[-1])
    assert "/healthz" in runtime["HEALTHCHECK"]
    assert runtime["STOPSIGNAL"] == "SIGTERM"
    # Exec form, so that SIGTERM reaches `skybound serve` itself, not a shell.
    assert runtime["CMD"] == '["skybound", "serve"]'


def test_the_image_installs_every_extra_a_documented_setting_needs() -> None:
    # SKYBOUND_STORAGE_BACKEND=supabase and strict GoTrue verification need `supabase`;
    # SENTRY_DSN and OTEL_EXPORTER_OTLP_ENDPOINT need `observability`.
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for extra in ("supabase", "observability"):
        assert re.search(rf"^{extra} = \[", pyproject, re.MULTILINE), extra
    assert _installed_extras() >= {"supabase", "observability"}


# --- the wheel the image installs ---------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built, as the image's build stage does, from exactly what it copies."""
    context = tmp_path_factory.mktemp("image-context")
    for keyword, rest in _stages()[0]:
        if keyword == "COPY":
            *sources, _ = rest.split()
            for source in sources:
                origin = ROOT / source
                if origin.is_dir():
                    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
                    shutil.copytree(origin, context / source, ignore=skip)
                else:
                    shutil.copy2(origin, context / source)
    out = tmp_path_factory.mktemp("wheels")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir", str(out), "."],
        cwd=context, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    (built,) = out.glob("skybound-*.whl")
    return built


@pytest.fixture(scope="module")
def image_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv holding the wheel with the image's extras, as the image's is."""
    venv = tmp_path_factory.mktemp("image-venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    extras = ",".join(sorted(_installed_extras()))
    result = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
         f"{wheel}[{extras}]"],
        capture_output=True, text=True, timeout=1800, env=_outside_env(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    return venv


# What would let the source tree (or this test's virtualenv) leak into the installed one.
LEAKS = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")


def _outside_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in LEAKS}


def test_the_wheel_carries_every_file_the_packages_read(wheel: Path) -> None:
    """SQL migrations, mail templates, the board's static files, the alert rules: every
    file of the source packages that is not Python is in the wheel."""
    expected = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }
    expected = {name for name in expected if not name.startswith(NOT_PACKAGE_DATA)}
    assert "foundation/migrations/0001_schema_v1.sql" in expected
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert expected <= names, sorted(expected - names)


class WheelServer(ServerProcess):
    """``skybound serve`` from the virtualenv's console script, run outside the tree."""

    def __init__(self, venv: Path, database_url: str, home: Path, env: dict[str, str]) -> None:
        super().__init__(database_url, home, workers=2, env=env)
        for leak in LEAKS:
            self._env.pop(leak, None)
        self.venv = venv
        self.home = home

    async def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.process = await asyncio.create_subprocess_exec(
            str(self.venv / "bin" / "skybound"), "serve",
            "--port", str(self.port), "--workers", str(self.workers),
            env=self._env, cwd=self.home,
        )  # fmt: skip
        self._remember()


async def test_the_installed_wheel_serves_health_and_search_with_supabase_storage(
    image_venv: Path,
    database_url: str,
    search_world: dict[str, int],
    aiohttp_server: Any,
    tmp_path: Path,
) -> None:
    where = await asyncio.create_subprocess_exec(
        str(image_venv / "bin" / "python"), "-c", "import server; print(server.__file__)",
        cwd=tmp_path, env=_outside_env(), stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    found, _ = await where.communicate()
    assert found.decode().startswith(str(image_venv)), found
    # Supabase Storage is the setting that failed at start-up in the image: the stand-in
    # of its API on 127.0.0.1 plays the project.
    storage_api = StorageAPI(SERVICE_KEY)
    project = await aiohttp_server(storage_api.app())
    env = {
        "SKYBOUND_STORAGE_BACKEND": "supabase",
        "SUPABASE_URL": str(project.make_url("/")).rstrip("/"),
        "SUPABASE_SERVICE_ROLE_KEY": SERVICE_KEY,
        "SKYBOUND_STORAGE_BUCKET": BUCKET,
    }
    server = WheelServer(image_venv, database_url, tmp_path / "home", env)
    try:
        await server.start()
        await server.wait_ready()
        assert BUCKET in storage_api.buckets
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url("/healthz")) as response:
                assert response.status == 200
            async with session.post(server.url("/v1/search"),
                                    json=one_way("JFK", "LHR")) as response:  # fmt: skip
                assert response.status == 200, await response.text()
                offers = (await response.json())["offers"]
        assert {seg["flight_id"] for offer in offers for s in offer["slices"]
                for seg in s["segments"]} >= {search_world["jfk_lhr"]}  # fmt: skip
    finally:
        await server.cleanup()
    assert server.leftovers() == []
