from bench.booking.driver import main

raise SystemExit(main())
