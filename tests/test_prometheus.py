"""The stack's Prometheus configuration: promtool accepts it with the shipped alert rules,
and it scrapes every Skybound instance of compose.yaml where compose mounts it."""

from __future__ import annotations

import posixpath
import subprocess
from pathlib import Path, PurePosixPath

import yaml

from tests.promtool import find_or_install_promtool

ROOT = Path(__file__).parents[1]
CONFIG = ROOT / "server" / "deploy" / "prometheus" / "prometheus.yml"
RULES = ROOT / "server" / "monitoring" / "alerts.yml"


def test_promtool_accepts_the_config_and_its_alert_rules() -> None:
    result = subprocess.run([find_or_install_promtool(), "check", "config", str(CONFIG)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout
    # Every rule in the file, so a rule promtool silently skipped would show.
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    count = sum(len(group["rules"]) for group in rules["groups"])
    assert f"SUCCESS: {count} rules found" in result.stdout


def test_promtool_rejects_a_broken_config(tmp_path: Path) -> None:
    broken = tmp_path / "prometheus.yml"
    broken.write_text("scrape_configs:\n  - job_name: x\n    scrape_interval: soon\n")
    result = subprocess.run([find_or_install_promtool(), "check", "config", str(broken)],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode != 0


def test_every_instance_of_the_stack_is_scraped() -> None:
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    instances = {f"{name}:8080" for name, service in compose["services"].items()
                 if service.get("command") == ["skybound", "serve"]}  # fmt: skip
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "skybound"]
    targets = {t for group in job["static_configs"] for t in group["targets"]}
    assert len(instances) >= 2
    assert targets == instances


def test_compose_mounts_config_and_rules_where_the_relative_path_holds() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    prometheus = compose["services"]["prometheus"]
    mounts = dict(volume.split(":")[:2] for volume in prometheus["volumes"])
    config_in = PurePosixPath(mounts["./" + str(CONFIG.relative_to(ROOT))])
    rules_in = PurePosixPath(mounts["./" + str(RULES.relative_to(ROOT))])
    (rule_file,) = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))["rule_files"]
    assert posixpath.normpath(config_in.parent / rule_file) == str(rules_in)
    assert f"--config.file={config_in}" in prometheus["command"]
