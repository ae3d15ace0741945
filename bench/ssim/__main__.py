from __future__ import annotations

from bench.ssim.driver import main

raise SystemExit(main())
