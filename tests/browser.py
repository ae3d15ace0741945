"""Headless Chromium for page tests: Debian's package, driven by Playwright.

Playwright's own browser download cannot work here, so the tests use the
system Chromium, installing Debian's package when running as root with apt.
"""

from __future__ import annotations

import os
import shutil
import subprocess

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",  # tests run as root in CI containers
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def find_or_install_chromium() -> tuple[str | None, str]:
    """The Chromium executable, or None and why it cannot be had."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found, ""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, "Chromium is not installed and cannot be installed here (needs root + apt)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        # Wait for another apt holding the lock rather than fail with status 100.
        wait = ["-o", "DPkg::Lock::Timeout=600"]
        subprocess.run(["apt-get", *wait, "update", "-q"], check=True, env=env, timeout=600,
                       capture_output=True)  # fmt: skip
        subprocess.run(["apt-get", *wait, "install", "-y", "-q", "chromium"], check=True,
                       env=env, timeout=900, capture_output=True)  # fmt: skip
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"installing Debian's chromium failed: {exc}"
    found = shutil.which("chromium")
    return found, "" if found else "apt-get installed chromium but it is not on PATH"
