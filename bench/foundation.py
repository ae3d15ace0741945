"""The former name of ``bench.throughput``: ``python -m bench.foundation`` and
``python bench/foundation.py`` still run that benchmark, with the same options."""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, the project directory is not on the path yet.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.throughput.driver import main

    raise SystemExit(main())
