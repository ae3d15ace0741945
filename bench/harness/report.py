"""Reports: the results directory, command lines as typed, the Markdown header and footer
every report shares, and writing the report out."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import PROJECT_DIR, RESULTS_DIR

LOGS_DIR = RESULTS_DIR / "logs"


def display(argv: Sequence[str]) -> str:
    """A command line as a user would type it from the project directory."""
    shown = []
    for part in argv:
        if part.startswith(str(PROJECT_DIR) + os.sep):
            part = os.path.relpath(part, PROJECT_DIR)
        shown.append(part)
    return shlex.join(shown)


def invocation(module: str, argv: Sequence[str]) -> str:
    """How this run was started: ``.venv/bin/python -m bench.<name> ARGS``."""
    python = os.path.relpath(sys.executable, PROJECT_DIR)
    return shlex.join([python, "-m", module, *argv])


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def fresh_dir(path: Path, pattern: str = "*") -> Path:
    """``path``, created if need be, without what an earlier run left in it matching
    ``pattern``."""
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob(pattern):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink()
    return path


def header(title: str, command: str, settings: Mapping[str, str]) -> list[str]:
    """The title, the command that ran and the run's settings as a list."""
    return [
        f"# {title}",
        "",
        f"Command: `{command}`",
        "",
        *[f"- {k}: {v}" for k, v in settings.items()],
    ]


def notes_section(notes: Sequence[str]) -> list[str]:
    return ["## Notes", "", *[f"- {n}" for n in notes], ""]


def commands_section(commands: Sequence[str]) -> list[str]:
    """The commands the run ran, in a shell block: every report ends with them."""
    return ["## Commands run", "", "```sh", *commands, "```", ""]


def write(text: str, output: Path) -> None:
    """Print the report and write it to ``output``."""
    print(text)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(f"written to {display([str(output.resolve())])}")


def number(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"
