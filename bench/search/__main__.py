from bench.search.driver import main

raise SystemExit(main())
