"""The GitHub Actions workflow: actionlint accepts it, and it runs what the house runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"


def _actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    actionlint = Path(sys.executable).with_name("actionlint")
    return subprocess.run([str(actionlint), "-no-color", *map(str, files)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    """ci.yml as data (YAML 1.1 reads the `on` key as True)."""
    loaded = yaml.safe_load((WORKFLOWS / "ci.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_actionlint_accepts_every_workflow() -> None:
    files = sorted(WORKFLOWS.glob("*.y*ml"))
    assert files
    result = _actionlint(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    needs: [missing]\n"
        "    steps:\n      - run: echo ${{ github.nothing_here }}\n"
    )
    result = _actionlint(broken)
    assert result.returncode != 0
    assert "missing" in result.stdout


def test_lint_job_runs_ruff_mypy_and_the_import_contracts(ci: dict[str, Any]) -> None:
    runs = _runs(ci["jobs"]["lint"])
    for command in ("ruff check .", "ruff format --check .", "mypy", "lint-imports"):
        assert command in runs, command


def test_the_suite_runs_against_postgres_16_and_redis_containers(ci: dict[str, Any]) -> None:
    job = ci["jobs"]["test"]
    assert job["services"]["postgres"]["image"].startswith("postgres:16")
    assert job["services"]["redis"]["image"].startswith("redis:")
    assert job["env"]["TEST_DATABASE_URL"].startswith("postgresql://")
    assert "@postgres:5432/" in job["env"]["TEST_DATABASE_URL"]
    runs = _runs(job)
    assert "pytest -p no:cacheprovider\n" in runs + "\n"
    redis_steps = [step for step in job["steps"] if "REDIS_URL" in step.get("env", {})]
    assert redis_steps
    assert redis_steps[0]["env"]["REDIS_URL"].startswith("redis://redis:")


def test_the_image_is_published_only_from_a_tag_after_the_checks(ci: dict[str, Any]) -> None:
    assert ci[True]["push"]["tags"] == ["v*"]
    job = ci["jobs"]["image"]
    assert set(job["needs"]) == {"lint", "test"}
    assert job["if"] == "github.ref_type == 'tag'"
    build = next(step for step in job["steps"]
                 if step.get("uses", "").startswith("docker/build-push-action"))  # fmt: skip
    assert build["with"]["push"] is True
