"""Servers under test: ``skybound serve`` or a peer in a process group of its own, started,
awaited until ready and stopped by SIGTERM; its environment, its log, and ``skybound seed``,
which every benchmark's data comes from."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from bench.harness import HOST, PROJECT_DIR, BenchError
from bench.harness.processes import STOP_TIMEOUT_S, end_group, run_bounded, tail
from bench.harness.report import display

READY_TIMEOUT_S = 180.0
# Environment that would point the server somewhere other than the bench's own home, or
# share its cache with another process.
FOREIGN_ENV = ("DATABASE_URL", "LISTEN_DATABASE_URL", "TEST_DATABASE_URL", "REDIS_URL")
# Settings a server reads from the environment: none is inherited, the bench sets its own.
SETTINGS_PREFIXES = ("SKYBOUND_", "SUPABASE_")
# One client address sends all of a throughput bench's load, which the per-address budgets
# (on by default since the rate limits) would answer with 429: benches that measure a
# route's own cost turn them off; bench.ratelimit measures what counting costs.
NO_RATE_LIMITS = {"SKYBOUND_RATE_LIMITS_ENABLED": "false"}
SEED_LINE = re.compile(
    r"seeded (?P<flights>[\d,]+) flights \((?P<cabins>[\d,]+) cabins\) in "
    r"(?P<seconds>[\d.]+) s: (?P<rate>[\d,.]+) legs/s"
)


def skybound_bin() -> str:
    beside = Path(sys.executable).parent / "skybound"
    if beside.exists():
        return str(beside)
    found = shutil.which("skybound")
    if found is None:
        raise BenchError("skybound command not found: pip install -e . in this virtualenv")
    return found


def peer_env() -> dict[str, str]:
    """A peer's environment: this one, without anything that points at a database."""
    return {k: v for k, v in os.environ.items() if k not in FOREIGN_ENV}


def skybound_env(home: Path, **settings: str) -> dict[str, str]:
    """The environment of every skybound command: the bench's home, quiet logs, no inherited
    settings; ``settings`` on top."""
    env = {k: v for k, v in peer_env().items() if not k.startswith(SETTINGS_PREFIXES)}
    env.update(SKYBOUND_HOME=str(home), SKYBOUND_ACCESS_LOG="false", SKYBOUND_LOG_LEVEL="WARNING")
    # A bench's thousands of streams all come from 127.0.0.1 (and often one user): the
    # per-address and per-user stream caps would admit the first hundred and measure those.
    env.update(SKYBOUND_STREAM_CAP_PER_ADDRESS="1000000", SKYBOUND_STREAM_CAP_PER_USER="1000000")
    env.update(settings)
    return env


def shown_env(env: dict[str, str]) -> str:
    """The settings of an environment, as a shell prefix for the report's commands."""
    shown = {k: v for k, v in env.items() if k.startswith(SETTINGS_PREFIXES)}
    return " ".join(f"{k}={shlex.quote(v)}" for k, v in shown.items())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def get_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, urllib.error.URLError):
        return None


class Server:
    """A server in its own process group: started, awaited until ``ready_url`` answers 200,
    stopped by SIGTERM (and SIGKILL for what of its group outlives that)."""

    def __init__(
        self, name: str, argv: list[str], env: dict[str, str], ready_url: str, log: Path
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.ready_url = ready_url
        self.log = log
        self.ready_seconds = 0.0
        self.stop_seconds = 0.0
        self.exit_code: int | None = None
        self.stopped_cleanly = False
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The group leader: the process whose memory and CPU are measured."""
        if self._proc is None:
            raise BenchError(f"{self.name} is not running")
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def __enter__(self) -> Server:
        started = time.monotonic()
        with self.log.open("wb") as out:
            self._proc = subprocess.Popen(
                self.argv,
                cwd=PROJECT_DIR,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_ready(started)
        except BaseException:
            # Interrupted or never ready: SIGINT unwinds the embedded database even mid-startup.
            end_group(self._proc, signal.SIGINT, STOP_TIMEOUT_S)
            raise
        return self

    def _wait_ready(self, started: float) -> None:
        assert self._proc is not None
        deadline = started + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with {self._proc.returncode} before it was ready:\n"
                    + tail(self.log)
                )
            if get_status(self.ready_url) == 200:
                self.ready_seconds = time.monotonic() - started
                return
            time.sleep(0.1)
        raise BenchError(f"{self.name} not ready after {READY_TIMEOUT_S:.0f} s:\n{tail(self.log)}")

    def stop(self) -> None:
        if self._proc is None or self.exit_code is not None:
            return
        started = time.monotonic()
        self.stopped_cleanly = end_group(self._proc, signal.SIGTERM, STOP_TIMEOUT_S)
        self.stop_seconds = time.monotonic() - started
        self.exit_code = self._proc.returncode

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def lifetime_note(self) -> str:
        """How long it took to be ready and to stop, for the report's notes."""
        return (
            f"`{self.name}`: ready {self.ready_seconds:.1f} s after start, exited "
            f"{self.stop_seconds:.1f} s after SIGTERM with code {self.exit_code}"
            + ("" if self.stopped_cleanly else " (had to be killed)")
        )

    def logged(self) -> list[str]:
        """What it wrote to its log (a Skybound server logs at WARNING or above only)."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return []
        return [line for line in text.splitlines() if line.strip()]

    def logged_note(self, width: int = 300) -> str | None:
        logged = self.logged()
        if not logged:
            return None
        return (
            f"`{self.name}` logged {len(logged)} line(s) at WARNING or above; first: "
            f"`{logged[0][:width]}` (full log: {display([str(self.log)])})"
        )


def worker_pids(leader: int) -> list[int]:
    """The serving processes of ``skybound serve --workers N``: the leader's children
    started by multiprocessing's spawn."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rpartition(")")[2].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == leader and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return sorted(found)


@dataclass(frozen=True)
class SeedResult:
    command: str
    flights: int
    cabins: int
    seconds: float
    legs_per_second: float
    wall_seconds: float

    def described(self) -> str:
        return (
            f"`{self.command}`: {self.flights:,} legs, {self.cabins:,} cabins in "
            f"{self.seconds:.1f} s"
        )


def seed_home(
    home: Path,
    owned: bool,
    flights: int,
    days: int,
    timeout: float,
    logs: Path,
    commands: list[str],
    *,
    env: dict[str, str] | None = None,
    seed_value: int = 1,
) -> SeedResult | None:
    """Seed the home if the bench made it (one it was given is served as it is); the seed
    command, with the server's environment ``env``, goes to ``commands``."""
    if not owned:
        return None
    print(f"seeding {flights:,} legs into {home} ...", flush=True)
    seeded = seed(home, flights, days, timeout, logs, seed=seed_value)
    commands.append(f"{shown_env(env or skybound_env(home))} {seeded.command}")
    return seeded


def seed(
    home: Path, flights: int, days: int, timeout: float, logs: Path, *, seed: int = 1
) -> SeedResult:
    """``skybound seed`` into ``home`` (a fresh embedded PostgreSQL unless one is there)."""
    argv = [skybound_bin(), "seed", "--flights", str(flights), "--days", str(days)]
    argv += ["--seed", str(seed)]
    code, output, wall = run_bounded(argv, skybound_env(home), timeout, logs / "seed.log")
    if code != 0:
        raise BenchError(f"{display(argv)} failed with {code}:\n{output[-4000:]}")
    match = SEED_LINE.search(output)
    if match is None:
        raise BenchError(f"no 'seeded ...' line in the seed output:\n{output[-2000:]}")
    return SeedResult(
        command=display(argv),
        flights=int(match["flights"].replace(",", "")),
        cabins=int(match["cabins"].replace(",", "")),
        seconds=float(match["seconds"]),
        legs_per_second=float(match["rate"].replace(",", "")),
        wall_seconds=wall,
    )
