from bench.versus.driver import main

raise SystemExit(main())
