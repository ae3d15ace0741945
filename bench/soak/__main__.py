from bench.soak.driver import main

raise SystemExit(main())
