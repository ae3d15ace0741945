"""The Kubernetes manifests: the base and each overlay, rendered, are valid against the
Kubernetes schemas (kubernetes-validate), say what a streaming server needs, and checkov
finds nothing in them or in the Dockerfile beyond the exceptions server/deploy/README.md
accepts.

No well-kept kustomize renderer exists on PyPI, so ``render`` applies the few things
the overlays use (namespace, images, JSON 6902 patches by target) the way kustomize does;
a patch whose path the base lacks fails it.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonpatch
import kubernetes_validate
import pytest
import yaml

from server.workers import WORKER_STOP_SECONDS
from tests.deploy_tools import find_or_install_checkov
from tests.postgres import TestPostgres, with_database

ROOT = Path(__file__).parents[1]
KUBERNETES = ROOT / "server" / "deploy" / "kubernetes"
BASE = KUBERNETES / "base"
OVERLAYS = ("staging", "production")
KUBERNETES_VERSION = "1.31"
SECRET = "skybound-secrets"
# The server's graceful stop takes at most this long once SIGTERM arrives.
DRAIN_SECONDS = WORKER_STOP_SECONDS


def _load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def render(directory: Path) -> list[dict[str, Any]]:
    """The resources of a kustomization directory, as `kubectl kustomize` would give them
    for what these files use."""
    (kustomization,) = _load(directory / "kustomization.yaml")
    unknown = set(kustomization) - {
        "apiVersion", "kind", "resources", "namespace", "images", "patches", "labels",
    }  # fmt: skip
    assert not unknown, f"render() does not know {unknown}"
    resources: list[dict[str, Any]] = []
    for entry in kustomization["resources"]:
        path = directory / entry
        resources += render(path) if path.is_dir() else _load(path)
    resources = copy.deepcopy(resources)
    for resource in resources:
        if "namespace" in kustomization:
            resource["metadata"]["namespace"] = kustomization["namespace"]
        for group in kustomization.get("labels", []):
            resource["metadata"].setdefault("labels", {}).update(group["pairs"])
    for image in kustomization.get("images", []):
        for container in _containers(resources):
            name, _, _ = container["image"].partition(":")
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image['newTag']}"
    for patch in kustomization.get("patches", []):
        target = patch["target"]
        wanted = (target["kind"], target["name"])
        matched = [r for r in resources if (r["kind"], r["metadata"]["name"]) == wanted]
        assert matched, f"no {target} in the base"
        operations = jsonpatch.JsonPatch(yaml.safe_load(patch["patch"]))
        for resource in matched:
            resources[resources.index(resource)] = operations.apply(resource)
    return resources


def _containers(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for resource in resources:
        spec = resource.get("spec", {}).get("template", {}).get("spec", {})
        found += spec.get("initContainers", []) + spec.get("containers", [])
    return found


def _one(resources: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [r for r in resources if r["kind"] == kind]
    return found


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    """The base's resources."""
    return render(BASE)


@pytest.mark.parametrize("directory", ["base", *(f"overlays/{o}" for o in OVERLAYS)])
def test_rendered_resources_are_valid_against_the_kubernetes_schemas(directory: str) -> None:
    resources = render(KUBERNETES / directory)
    assert len(resources) >= 9
    for resource in resources:
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_an_invalid_resource_fails_validation(base: list[dict[str, Any]]) -> None:
    broken = copy.deepcopy(_one(base, "Deployment"))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_a_patch_the_base_cannot_take_fails_the_render(tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "resources": [str(BASE)],
        "patches": [{"target": {"kind": "Deployment", "name": "skybound"},
                     "patch": "- op: replace\n  path: /spec/nothing/here\n  value: 1\n"}],
    }))  # fmt: skip
    with pytest.raises((jsonpatch.JsonPatchException, jsonpatch.JsonPointerException)):
        render(overlay)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_has_its_own_namespace_host_and_scale(overlay: str) -> None:
    resources = render(KUBERNETES / "overlays" / overlay)
    assert {r["metadata"]["namespace"] for r in resources} == {f"skybound-{overlay}"}
    hpa = _one(resources, "HorizontalPodAutoscaler")
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    ingress = _one(resources, "Ingress")
    assert ingress["spec"]["rules"][0]["host"] == ingress["spec"]["tls"][0]["hosts"][0]


def test_the_pods_report_readiness_and_liveness_and_drain_before_they_are_killed(
    base: list[dict[str, Any]],
) -> None:
    pod = _one(base, "Deployment")["spec"]["template"]["spec"]
    (server,) = pod["containers"]
    assert server["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert server["livenessProbe"]["httpGet"]["path"] == "/healthz"
    pre_stop = server["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + DRAIN_SECONDS


def test_the_pods_run_unprivileged_on_a_read_only_root(base: list[dict[str, Any]]) -> None:
    for kind in ("Deployment", "Job"):
        pod = _one(base, kind)["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        for container in pod.get("initContainers", []) + pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert set(container["resources"]) == {"requests", "limits"}


def test_secrets_are_referenced_by_name_and_none_is_shipped(base: list[dict[str, Any]]) -> None:
    assert not [r for r in base if r["kind"] == "Secret"]
    text = json.dumps(base)
    referenced = set(re.findall(r'"name": "(skybound-[a-z-]+)"', text))
    deployment = _one(base, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert {"secretRef": {"name": SECRET}} in deployment["envFrom"]
    assert SECRET in referenced


def test_migrations_run_in_a_job_that_the_pods_wait_for(base: list[dict[str, Any]]) -> None:
    job = _one(base, "Job")["spec"]["template"]["spec"]
    assert job["containers"][0]["command"] == ["skybound", "migrate"]
    assert job["restartPolicy"] == "Never"
    config = _one(base, "ConfigMap")["data"]
    assert config["SKYBOUND_AUTO_MIGRATE"] == "false"
    (wait,) = _one(base, "Deployment")["spec"]["template"]["spec"]["initContainers"]
    assert "skybound migrate --status" in wait["command"][-1]


def test_the_ingress_passes_streams_unbuffered_for_an_hour(base: list[dict[str, Any]]) -> None:
    annotations = _one(base, "Ingress")["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    assert annotations[prefix + "proxy-buffering"] == "off"
    assert int(annotations[prefix + "proxy-read-timeout"]) >= 3600
    assert int(annotations[prefix + "proxy-send-timeout"]) >= 3600


def test_autoscaler_budget_and_service_find_the_deployment(base: list[dict[str, Any]]) -> None:
    deployment = _one(base, "Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert _one(base, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"] == "skybound"
    for kind, selector in (("PodDisruptionBudget", "selector"), ("Service", "selector")):
        wanted = _one(base, kind)["spec"][selector]
        wanted = wanted.get("matchLabels", wanted)
        assert wanted.items() <= labels.items(), kind


# --- checkov ---------------------------------------------------------------------


def _checkov(framework: str, target: str) -> dict[str, Any]:
    """checkov's report on one file (``-f``) or directory (``-d``): failures and a summary."""
    option = "-d" if Path(target).is_dir() else "-f"
    result = subprocess.run(
        [str(find_or_install_checkov()), "--skip-download", "--quiet", "--compact",
         "-o", "json", "--framework", framework, option, target],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert isinstance(report, dict), report
    assert report["summary"]["parsing_errors"] == 0, report
    return report


def _failures(report: dict[str, Any]) -> list[str]:
    return [f"{c['check_id']} {c['resource']} ({c['file_path']})"
            for c in report["results"]["failed_checks"]]  # fmt: skip


@pytest.fixture(scope="module")
def rendered_overlays(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each overlay rendered to a directory of its own."""
    out = tmp_path_factory.mktemp("rendered")
    for overlay in OVERLAYS:
        (out / f"{overlay}.yaml").write_text(yaml.safe_dump_all(render(
            KUBERNETES / "overlays" / overlay)))  # fmt: skip
    return out


@pytest.mark.parametrize("what", ["base", *OVERLAYS])
def test_checkov_finds_nothing_in_the_manifests(what: str, rendered_overlays: Path) -> None:
    target = BASE if what == "base" else rendered_overlays / f"{what}.yaml"
    report = _checkov("kubernetes", str(target))
    assert report["summary"]["resource_count"] >= 9
    assert report["summary"]["passed"] > 0
    assert _failures(report) == []


def test_checkov_finds_nothing_in_the_dockerfile() -> None:
    report = _checkov("dockerfile", "Dockerfile")
    assert report["summary"]["passed"] > 0
    assert _failures(report) == []


def test_checkov_flags_a_root_container(tmp_path: Path, base: list[dict[str, Any]]) -> None:
    risky = copy.deepcopy(_one(base, "Deployment"))
    risky["spec"]["template"]["spec"]["securityContext"] = {"runAsUser": 0}
    (tmp_path / "risky.yaml").write_text(yaml.safe_dump(risky))
    failed = {c.split()[0] for c in _failures(_checkov("kubernetes", str(tmp_path)))}
    assert "CKV_K8S_23" in failed or "CKV_K8S_40" in failed, failed


def test_every_accepted_checkov_exception_is_documented(base: list[dict[str, Any]]) -> None:
    readme = (ROOT / "server" / "deploy" / "README.md").read_text(encoding="utf-8")
    skipped = {
        value.partition("=")[0]
        for resource in base
        for key, value in resource["metadata"].get("annotations", {}).items()
        if key.startswith("checkov.io/skip")
    }
    assert skipped
    for check in skipped:
        assert re.search(rf"`{check}`.*\|", readme), f"{check} is skipped but not documented"


# --- the init container's wait, run for real ----------------------------------------


async def _wait_for_migrations(database_url: str, within: float) -> int:
    """The Deployment's wait-for-migrations command, run with this tree's CLI; its exit
    code, or TimeoutError while it still waits after ``within`` seconds."""
    (wait,) = _one(render(BASE), "Deployment")["spec"]["template"]["spec"]["initContainers"]
    env = {**os.environ, "DATABASE_URL": database_url, "SKYBOUND_LOG_LEVEL": "ERROR",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        *wait["command"], env=env, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        return await asyncio.wait_for(process.wait(), within)
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


async def test_pods_start_once_no_migration_is_pending(database_url: str) -> None:
    assert await _wait_for_migrations(database_url, within=60) == 0


async def test_pods_keep_waiting_while_migrations_are_pending(postgres: TestPostgres) -> None:
    database = await postgres.create_database("template0")
    try:
        with pytest.raises(TimeoutError):
            await _wait_for_migrations(with_database(postgres.admin_url, database), within=8)
    finally:
        await postgres.drop_database(database)


async def test_pods_keep_waiting_while_the_database_is_unreachable() -> None:
    with pytest.raises(TimeoutError):
        await _wait_for_migrations("postgresql://skybound@127.0.0.1:1/none", within=8)
