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
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, timeout=600,
                   capture_output=True)  # fmt: skip
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"],
                   check=True, env=env, timeout=900, capture_output=True)  # fmt: skip
    found = shutil.which("promtool")
    assert found, "apt-get installed prometheus but promtool is not on PATH"
    return found
