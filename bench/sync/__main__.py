from bench.sync.driver import main

raise SystemExit(main())
