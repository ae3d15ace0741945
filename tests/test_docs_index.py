"""Every document in docs/ is reachable from the README."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
_LINK = re.compile(r"\]\((docs/[^)#]+\.md)(?:#[^)]*)?\)")


def test_the_readme_links_every_document_in_docs() -> None:
    linked = set(_LINK.findall((ROOT / "README.md").read_text()))
    documents = {f"docs/{path.name}" for path in (ROOT / "docs").glob("*.md")}
    assert documents - linked == set(), "link these from README.md (section Documentation)"


def test_links_between_documents_lead_to_existing_files() -> None:
    broken = []
    for document in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", document.read_text()):
            if not (document.parent / target).exists():
                broken.append(f"{document.relative_to(ROOT)} -> {target}")
    assert broken == []
