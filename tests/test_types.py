"""The types hold: mypy, strict as pyproject.toml configures it, the way CI runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _mypy(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    # A cache of the test's own, so that no earlier run's cache stands in for a check.
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(cache), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_mypy_finds_no_error_in_the_packages(tmp_path: Path) -> None:
    """Every package [tool.mypy] names type-checks; a failure shows mypy's report."""
    result = _mypy(cache=tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_the_configuration_is_strict(tmp_path: Path) -> None:
    """The same configuration on an unannotated function must fail, naming the error."""
    loose = tmp_path / "loose.py"
    loose.write_text("def double(x):\n    return x * 2\n")
    result = _mypy("--config-file", str(ROOT / "pyproject.toml"), str(loose),
                   cache=tmp_path / "cache")  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "loose.py:1: error: Function is missing a type annotation  [no-untyped-def]" in (
        result.stdout
    ), result.stdout
