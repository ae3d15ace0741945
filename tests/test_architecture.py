"""The house's shape: imports run one way, checked the way CI checks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
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


def test_no_module_imports_itself_round_a_circle() -> None:
    """Strongly connected modules (an import circle) are found by a walk of the same
    graph lint-imports builds; annotations-only imports do not count."""
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True, cache_dir=None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    assert circles == []
