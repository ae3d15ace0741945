"""The house's shape: imports run one way, checked the way CI checks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_imports_follow_the_layers() -> None:
    """`lint-imports` with the contracts in pyproject.toml: an import that runs back up
    a layer, a transport importing another, or the domain importing aiohttp fails."""
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


PACKAGES = ("server", "devtools", "handlers", "streams", "sync", "api", "domain", "adapters",
            "foundation")  # fmt: skip


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("foundation/settings.py", "import server.app", "Layers"),
        ("domain/flights.py", "from api import keys", "Layers"),
        ("streams/hub.py", "import handlers.flights", "Layers"),
        ("sync/pull.py", "import streams.changelog", "Layers"),
        ("domain/flights.py", "import aiohttp", "callable without HTTP"),
    ],
)
def test_the_contracts_catch_an_import_that_runs_back_up(
    tmp_path: Path, module: str, bad_import: str, contract: str
) -> None:
    """The same check on a copy of the tree with one wrong import added must fail."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__", "static"))  # fmt: skip
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{bad_import}  # noqa\n")
    linter = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(linter), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
        timeout=300, env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode != 0, result.stdout
    broken = result.stdout.split("Broken contracts", 1)[1]
    assert contract in broken
    assert bad_import.split()[-1].split(".")[0] in broken
