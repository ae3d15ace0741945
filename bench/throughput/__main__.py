from bench.throughput.driver import main

raise SystemExit(main())
