"""What ran: Python, the packages and tools that matter to a benchmark, the machine, and the
commit of the code measured."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata

from bench.harness import PROJECT_DIR
from bench.harness.report import now

# The server's code: a change here during a run changes what is measured.
SERVER_CODE = ("server", "domain", "handlers", "streams", "sync")


def package(name: str) -> str:
    try:
        return f"{name} {metadata.version(name)}"
    except metadata.PackageNotFoundError:
        return f"{name} missing"


def wrk() -> str:
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).split("Copyright")[0].strip()


def postgres() -> str:
    return f"PostgreSQL 16 ({package('pgserver')})"


def machine(*parts: str, packages: tuple[str, ...] = ("aiohttp", "asyncpg", "uvloop")) -> str:
    """Python, ``packages`` and ``parts`` (tools), then the CPUs and the system."""
    found = [package(name) for name in packages] + list(parts)
    return (
        f"Python {platform.python_version()}, {', '.join(found)}; {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}"
    )


def _git(*argv: str) -> str:
    done = subprocess.run(
        ["git", *argv], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()


def code_version() -> str:
    """The commit being measured, and whether the server's code differs from it."""
    try:
        head = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--", *SERVER_CODE)
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return head + (" with uncommitted changes to the server's code" if dirty else "")


def run_settings(*parts: str) -> dict[str, str]:
    """When the run started, on what (``parts``: tools beside Python and the packages) and
    which code it measured: the first settings of a report."""
    return {"date": now(), "machine": machine(*parts), "code": code_version()}


def code_changed(measured: str) -> str | None:
    """The code's version now, if it is no longer the one the run started with."""
    current = code_version()
    return None if current == measured else current
