from bench.fanout.driver import main

raise SystemExit(main())
