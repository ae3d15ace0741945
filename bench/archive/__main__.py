from __future__ import annotations

from bench.archive.driver import main

raise SystemExit(main())
