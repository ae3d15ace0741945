"""The shipped Prometheus alert rules: valid, firing as intended, and about metrics the
server actually exposes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.promtool import find_or_install_promtool

RULES = Path(__file__).parents[1] / "server" / "monitoring" / "alerts.yml"
RULE_TESTS = Path(__file__).with_name("alert_rules_test.yml")
# Exposed by the workers of `serve --workers N` only (tests/e2e/test_process_faults.py).
POOL_ONLY = {"skybound_worker_restarts"}
# Only with SKYBOUND_WAKE_SOURCE=supabase-realtime; tests/e2e/test_wake_upstream.py reads it.
UPSTREAM_WAKE_ONLY = {"skybound_wake_upstream_up"}


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([find_or_install_promtool(), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60)  # fmt: skip


def test_promtool_accepts_the_rules() -> None:
    result = _promtool("check", "rules", str(RULES), cwd=RULES.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    # Every rule in the file, so a rule promtool silently skipped would show.
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    count = sum(len(group["rules"]) for group in rules["groups"])
    assert f"SUCCESS: {count} rules found" in result.stdout


def test_the_rules_fire_as_their_unit_tests_expect() -> None:
    result = _promtool("test", "rules", RULE_TESTS.name, cwd=RULE_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


async def test_every_metric_the_rules_use_is_exposed(client: TestClient) -> None:
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    used = {
        re.sub(r"_(total|bucket|count|sum)$", "", name)
        for group in rules["groups"]
        for rule in group["rules"]
        for name in re.findall(r"\bskybound_[a-z_]+", rule["expr"])
    }
    response = await client.get("/metrics")
    exposed = {family.name for family in text_string_to_metric_families(await response.text())}
    assert used
    elsewhere = POOL_ONLY | UPSTREAM_WAKE_ONLY
    assert used - elsewhere <= exposed, sorted(used - elsewhere - exposed)
