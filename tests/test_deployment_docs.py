"""docs/deployment.md (and server/deploy/README.md) say only what the files and the code
do: every variable is a setting or a documented outside variable, every command and flag
exists, every repository path exists, and the figures (stop grace periods, Secrets,
compose services, benchmark numbers) are the ones in the files they name."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from foundation.settings import Settings
from server import workers
from server.cli import _parser
from tests.test_compose import _setting_names

ROOT = Path(__file__).parents[1]
GUIDE = ROOT / "docs" / "deployment.md"
DEPLOY_README = ROOT / "server" / "deploy" / "README.md"
KUBERNETES = ROOT / "server" / "deploy" / "kubernetes"
DOCUMENTS = [GUIDE, DEPLOY_README, ROOT / ".env.example", KUBERNETES / "base" / "configmap.yaml"]

# Upper-case names in these documents that are not Skybound settings, each with the file
# that gives it its meaning (checked to mention it).
OUTSIDE_NAMES = {
    "POSTGRES_PASSWORD": ".env.example",  # the postgres image's, from .env
    "TEST_DATABASE_URL": "tests/conftest.py",
    "IMAGE_REGISTRY": ".github/workflows/ci.yml",
    "REGISTRY_USERNAME": ".github/workflows/ci.yml",
    "REGISTRY_PASSWORD": ".github/workflows/ci.yml",
    "WORKER_STOP_SECONDS": "server/workers.py",
    "SO_REUSEPORT": "server/workers.py",
    "CKV_K8S_35": "server/deploy/kubernetes/base/deployment.yaml",  # checkov check ids
    "CKV_K8S_43": "server/deploy/kubernetes/base/deployment.yaml",
}
_UPPER_NAME = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b")
_REPO_PATH = re.compile(
    r"(?<![\w/.-])(?:server|foundation|docs|tests|bench|api|streams|domain|handlers|"
    r"adapters|sync|devtools|\.github)/[\w./*-]*[\w*/]"
)
_TOP_LEVEL = ("Dockerfile", "compose.yaml", ".env.example", ".dockerignore", "pyproject.toml")
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def _yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def _walk(node: Any) -> list[dict[str, Any]]:
    """Every mapping inside a YAML document, depth first."""
    if isinstance(node, dict):
        return [node, *(m for value in node.values() for m in _walk(value))]
    if isinstance(node, list):
        return [m for item in node for m in _walk(item)]
    return []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_variable_named_is_a_setting_or_a_documented_outside_name(
    document: Path,
) -> None:
    settings = _setting_names()
    unknown = sorted(
        name
        for name in set(_UPPER_NAME.findall(document.read_text(encoding="utf-8")))
        if name not in settings and name not in OUTSIDE_NAMES
    )
    assert unknown == []


def test_the_outside_names_are_where_the_table_says() -> None:
    missing = [
        name
        for name, source in OUTSIDE_NAMES.items()
        if name not in (ROOT / source).read_text(encoding="utf-8")
    ]
    assert missing == []


def test_the_readme_configuration_table_lists_every_setting_and_only_settings() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[
        readme.index("## Configuration") : readme.index(
            "\n## ", readme.index("## Configuration") + 1
        )
    ]
    internal = {
        f"SKYBOUND_{name.upper()}"
        for name, field in Settings.model_fields.items()
        if field.description == "Internal."
    }
    named = set(_UPPER_NAME.findall(table))
    assert sorted(_setting_names() - internal - named) == []
    assert sorted(named - _setting_names() - set(OUTSIDE_NAMES)) == []


@pytest.mark.parametrize("document", [GUIDE, DEPLOY_README], ids=["guide", "deploy-readme"])
def test_every_repository_path_named_exists(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    paths = set(_REPO_PATH.findall(text)) | {name for name in _TOP_LEVEL if name in text}
    assert paths, "the pattern finds the paths"
    missing = sorted(
        path for path in paths if not list(ROOT.glob(path.replace("NNNN", "[0-9]" * 4)))
    )
    assert missing == []


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _unknown_in(command: str) -> list[str]:
    """What `skybound ...` names that the CLI does not have: a subcommand or a flag."""
    parser = _parser()
    words = command.replace("[", " ").replace("]", " ").split()[1:]
    unknown = []
    while words and words[0] in _subcommands(parser):
        parser = _subcommands(parser)[words.pop(0)]
    if words and _subcommands(parser):
        unknown.append(f"{command}: no subcommand {words[0]!r}")
    flags = {flag for action in parser._actions for flag in action.option_strings}
    for word in words:
        flag = word.split("=")[0]
        if flag.startswith("-") and flag not in flags:
            unknown.append(f"{command}: no flag {flag}")
    return unknown


@pytest.mark.parametrize("document", [GUIDE, DEPLOY_README], ids=["guide", "deploy-readme"])
def test_every_skybound_command_and_flag_named_exists(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    commands = [
        match.group(0).split("#")[0].strip()
        for match in re.finditer(
            r"(?<![\w/-])skybound (?:[a-z][\w-]*|--?[\w-]+)(?:[ \t]+[^\s`|;&)]+)*", text
        )
    ]
    assert len(commands) > 3, "the pattern finds the commands"
    unknown = [problem for command in commands for problem in _unknown_in(command)]
    assert unknown == []


def test_a_wrong_flag_or_command_is_caught() -> None:
    assert _unknown_in("skybound migrate --status") == []
    assert _unknown_in("skybound migrate --dry-run") != []
    assert _unknown_in("skybound import csv FILE") != []


def _seconds(value: str | int) -> int:
    return int(str(value).rstrip("s"))


def _grace_row(where: str) -> str:
    rows = [
        line
        for line in GUIDE.read_text(encoding="utf-8").splitlines()
        if line.startswith(f"| {where} |")
    ]
    assert len(rows) == 1, f"one row of the grace table for {where}"
    return rows[0]


def test_the_stop_grace_table_has_the_figures_of_the_files() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    graces = {
        _seconds(compose["services"][name]["stop_grace_period"])
        for name in ("skybound-1", "skybound-2")
    }
    assert len(graces) == 1
    (deployment,) = _yaml_documents(KUBERNETES / "base" / "deployment.yaml")
    pod = deployment["spec"]["template"]["spec"]
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    source = (ROOT / "server" / "workers.py").read_text(encoding="utf-8")
    (shutdown,) = re.findall(r"shutdown_timeout=(\d+)(?:\.0)?,", source)

    assert f"| {graces.pop()} s |" in _grace_row("`compose.yaml`")
    assert f"{pre_stop[1]} s, {pod['terminationGracePeriodSeconds']} s" in _grace_row(
        "Kubernetes `base/deployment.yaml`"
    )
    assert f"{shutdown} s, {workers.WORKER_STOP_SECONDS:.0f} s" in _grace_row("`server/workers.py`")
    assert "`docker stop -t 40`" in _grace_row("`Dockerfile`, `docker stop`")


def test_every_secret_the_manifests_reference_is_named_in_the_guide() -> None:
    referenced = set()
    for path in (KUBERNETES / "base").glob("*.yaml"):
        for document in _yaml_documents(path):
            for mapping in _walk(document):
                if "secretName" in mapping:
                    referenced.add(mapping["secretName"])
                for key in ("secretRef", "secretKeyRef"):
                    if key in mapping:
                        referenced.add(mapping[key]["name"])
                        referenced.update([mapping[key]["key"]] if "key" in mapping[key] else [])
    text = GUIDE.read_text(encoding="utf-8")
    assert referenced >= {"skybound-secrets", "skybound-tls", "DATABASE_URL"}
    assert sorted(name for name in referenced if f"`{name}`" not in text) == []


def test_every_compose_service_is_in_the_guide_table() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    text = GUIDE.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    described = {name for line in rows for name in _CODE_SPAN.findall(line.split("|")[1])}
    assert sorted(set(compose["services"]) - described) == []
    for name, service in compose["services"].items():
        if "image" in service and name in ("postgres", "redis", "nginx", "prometheus"):
            assert f"`{service['image']}`" in text, name


def _readme_section(heading: str) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index(f"\n### {heading}\n")
    ends = [i for i in (readme.find("\n### ", start + 1), readme.find("\n## ", start + 1)) if i > 0]
    return readme[start : min(ends)]


def test_capacity_figures_are_in_the_readme_tables_they_cite() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    capacity = text[text.index("### Capacity") : text.index("## 9.")]
    rows = [line.split("|")[1:-1] for line in capacity.splitlines() if line.startswith("| ")][1:]
    assert len(rows) >= 5
    absent = []
    for _what, measured, cited in rows:
        (heading,) = re.findall(r"\*(.+)\*", cited)
        section = _readme_section(heading.strip())
        absent += [
            f"{n} ({heading})"
            for n in re.findall(r"\d+(?:,\d{3})*(?:\.\d+)?", measured)
            if n not in section
        ]
    assert absent == []


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("document", [GUIDE, DEPLOY_README], ids=["guide", "deploy-readme"])
def test_links_with_anchors_lead_to_headings(document: Path) -> None:
    broken = []
    for target, anchor in re.findall(
        r"\]\(([^)#:]+\.md)#([^)]+)\)", document.read_text(encoding="utf-8")
    ):
        headings = re.findall(
            r"^#+ (.+)$", (document.parent / target).read_text(encoding="utf-8"), re.M
        )
        if anchor not in {_slug(h) for h in headings}:
            broken.append(f"{target}#{anchor}")
    assert broken == []
