"""Every Mermaid diagram in the documents parses with Mermaid itself.

Mermaid is installed with npm once per machine into a cache directory (as the
realtime-js client of tests/node_clients.py is), so the suite needs only Node.js.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

MERMAID = "mermaid@11.12.1"
ROOT = Path(__file__).parent.parent
SCRIPT = Path(__file__).parent / "node" / "mermaid_check.mjs"
DOCUMENTS = sorted(p for p in (ROOT / "docs").glob("*.md") if "```mermaid" in p.read_text())


@pytest.fixture(scope="module")
def mermaid_modules() -> str:
    """The node_modules directory holding Mermaid, installed on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node is not None, "Node.js checks the diagrams"
    assert npm is not None, "npm installs Mermaid"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    target = base / "skybound-tests" / f"node-{MERMAID}"
    if not (target / "node_modules" / "mermaid" / "package.json").exists():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
                        "--prefix", str(target), MERMAID],
                       check=True, timeout=600, capture_output=True)  # fmt: skip
    return str(target / "node_modules")


def _check(markdown: str, mermaid_modules: str) -> dict[str, object]:
    # An ES module resolves packages from its own directory upwards (NODE_PATH is ignored): run a
    # copy of the script next to the installed modules.
    script = Path(mermaid_modules).parent / SCRIPT.name
    script.write_text(SCRIPT.read_text())
    node = shutil.which("node") or "node"
    done = subprocess.run([node, str(script)], input=markdown, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, f"the Mermaid check failed: {done.stderr.strip()[-2000:]}"
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_documents_have_diagrams() -> None:
    names = {p.name for p in DOCUMENTS}
    assert {"auth.md", "schema.md"} <= names


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_diagram_parses(document: Path, mermaid_modules: str) -> None:
    result = _check(document.read_text(), mermaid_modules)
    assert result["errors"] == []
    assert result["blocks"] == document.read_text().count("```mermaid")


def test_a_broken_diagram_is_reported(mermaid_modules: str) -> None:
    broken = "```mermaid\nsequenceDiagram\n    A->>B: one; two\n```\n"
    assert _check(broken, mermaid_modules)["errors"] != []
