"""promtool from Debian's prometheus package, installed by the suite when missing."""

from __future__ import annotations

import os
import shutil
import subprocess


def find_or_install_promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    missing = "promtool is missing and cannot be installed here: install Debian's prometheus"
    assert os.geteuid() == 0, missing
    assert shutil.which("apt-get"), missing
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Another apt (the browser's install, an engineer's) may hold the lock: wait for it
    # rather than fail with status 100.
    wait = ["-o", "DPkg::Lock::Timeout=600"]
    for argv in (["apt-get", *wait, "update", "-q"],
                 ["apt-get", *wait, "install", "-y", "-q", "--no-install-recommends",
                  "prometheus"]):  # fmt: skip
        done = subprocess.run(argv, env=env, timeout=900, capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(argv)}: {done.stderr.strip()[-2000:]}"
    found = shutil.which("promtool")
    assert found, "apt-get installed prometheus but promtool is not on PATH"
    return found
