"""Tools the deployment tests need that the test extra cannot carry, installed by the suite
when missing, without root where it can be helped.

nginx: Debian's package, unpacked (``apt-get download`` + ``dpkg -x``) into a cache
directory, so no service starts and nothing under /etc changes. checkov: its own
virtualenv, because it pins dozens of libraries (an old ``packaging`` among them) that must
not leak into the server's test environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "skybound-tests"
CHECKOV_VERSION = "3.3.30"
# Bookworm's nginx-light is a transitional package; nginx holds the binary there.
NGINX_PACKAGES = ("nginx", "nginx-light")


def _apt_env() -> dict[str, str]:
    return {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def find_or_install_nginx() -> Path:
    """An nginx binary: on PATH, or Debian's unpacked into the cache."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None
    )
    if found:
        return Path(found)
    unpacked = CACHE / "nginx"
    binary = unpacked / "usr" / "sbin" / "nginx"
    if binary.exists():
        return binary
    missing = "nginx is missing and cannot be installed here: install Debian's nginx"
    assert shutil.which("apt-get"), missing
    assert shutil.which("dpkg"), missing
    staging = CACHE / "nginx.partial"
    for package in NGINX_PACKAGES:
        shutil.rmtree(staging, ignore_errors=True)
        downloads = CACHE / "nginx-debs" / package
        downloads.mkdir(parents=True, exist_ok=True)
        if not _apt_download(package, downloads):
            continue
        for deb in downloads.glob("*.deb"):
            subprocess.run(["dpkg", "-x", str(deb), str(staging)], check=True, timeout=120)
        if (staging / "usr" / "sbin" / "nginx").exists():
            break
    else:
        raise AssertionError(f"{missing}: no nginx binary in {NGINX_PACKAGES}")
    shutil.rmtree(unpacked, ignore_errors=True)
    staging.rename(unpacked)
    return binary


def _apt_download(package: str, into: Path) -> bool:
    """``apt-get download`` the package and the nginx-common it needs (mime.types)."""
    for attempt in range(2):
        result = subprocess.run(
            ["apt-get", "download", "-q", package, "nginx-common"],
            cwd=into, env=_apt_env(), capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if result.returncode == 0:
            return True
        if attempt == 0 and os.geteuid() == 0:
            # The package lists may be missing (a fresh container): refresh them once.
            subprocess.run(["apt-get", "update", "-q"], env=_apt_env(), capture_output=True,
                           timeout=600)  # fmt: skip
    return False


def find_or_install_checkov() -> Path:
    """checkov from its own virtualenv in the cache (created once; a marker says complete)."""
    env_dir = CACHE / f"checkov-{CHECKOV_VERSION}"
    binary, complete = env_dir / "bin" / "checkov", env_dir / ".complete"
    if complete.exists():
        return binary
    shutil.rmtree(env_dir, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=120)
    result = subprocess.run(
        [str(env_dir / "bin" / "pip"), "install", "-q", f"checkov=={CHECKOV_VERSION}"],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert result.returncode == 0, f"checkov cannot be installed: {result.stderr[-2000:]}"
    complete.touch()
    return binary
