"""Supabase's official JavaScript client for tests, installed with npm into a cache.

The package and its WebSocket transport are installed once per machine into a cache
directory (not the repository), so the suite needs only Node.js and npm's registry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REALTIME_JS = "@supabase/realtime-js@2.119.1"
WS = "ws@8.23.0"
SCRIPT = Path(__file__).parent / "node" / "realtime_client.cjs"


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "skybound-tests" / f"node-{REALTIME_JS.replace('/', '_')}-{WS}"


def realtime_js_modules() -> Path:
    """node_modules holding realtime-js and ws, installed on first use."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError("Node.js and npm are needed for the realtime-js tests")
    target = cache_dir()
    modules = target / "node_modules"
    if not (modules / "@supabase" / "realtime-js" / "package.json").exists():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", "--prefix",
             str(target), REALTIME_JS, WS],
            check=True, timeout=600, capture_output=True,
        )  # fmt: skip
    return modules
