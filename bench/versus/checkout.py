"""The two sides measured: this checkout with its own virtualenv, or a commit checked out
into a git worktree under the cache directory with a virtualenv of its own."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from bench.harness import PROJECT_DIR, BenchError
from bench.harness.versions import SERVER_CODE

# Written into a prepared virtualenv once its install succeeded; a half-made one is redone.
READY = ".versus-ready"
INSTALL_TIMEOUT_S = 900


@dataclass(frozen=True)
class Side:
    label: str
    commit: str
    subject: str
    directory: Path
    python: Path

    @property
    def short(self) -> str:
        return self.commit[:7]


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "skybound-bench" / "versus"


def _git(*argv: str, cwd: Path = PROJECT_DIR) -> str:
    done = subprocess.run(
        ["git", *argv], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise BenchError(f"git {' '.join(argv)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _describe(label: str, rev: str, directory: Path, python: Path) -> Side:
    commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    subject = _git("log", "-1", "--format=%s", commit)
    return Side(label, commit, subject, directory, python)


def this_checkout(label: str) -> Side:
    """The project as it is here, run with the interpreter running this command."""
    if _git("status", "--porcelain", "--", *SERVER_CODE):
        raise BenchError("this checkout has uncommitted changes to the server's code")
    return _describe(label, "HEAD", PROJECT_DIR, Path(sys.executable))


def _worktree(commit: str, directory: Path) -> None:
    if (directory / ".git").exists():
        if _git("rev-parse", "HEAD", cwd=directory) == commit:
            return
        _git("worktree", "remove", "--force", str(directory))
    _git("worktree", "prune")
    directory.parent.mkdir(parents=True, exist_ok=True)
    _git("worktree", "add", "--detach", str(directory), commit)


def _virtualenv(checkout: Path, venv: Path) -> Path:
    """A virtualenv that sees this one's packages (so only what the commit needs beyond them
    is installed) and has the commit's project installed editable from its worktree."""
    python = venv / "bin" / "python"
    if (venv / READY).exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=300)
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    # A .pth line appends a directory to sys.path after the virtualenv's own site-packages,
    # without running the .pth files in it: this checkout's editable install stays out.
    (Path(purelib) / "_versus_parent.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    log = venv / "install.log"
    with log.open("wb") as out:
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-e", str(checkout)],
            stdout=out, stderr=subprocess.STDOUT, timeout=INSTALL_TIMEOUT_S, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise BenchError(f"installing {checkout} failed: see {log}")
    (venv / READY).write_text("")
    return python


def prepared(label: str, rev: str, cache: Path) -> Side:
    """``rev`` checked out in a worktree of the cache, with its virtualenv (both reused)."""
    commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    directory = cache / "checkouts" / commit[:12]
    print(f"{label}: {commit[:7]} in {directory} ...", flush=True)
    _worktree(commit, directory)
    python = _virtualenv(directory, cache / "venvs" / commit[:12])
    return _describe(label, commit, directory, python)
