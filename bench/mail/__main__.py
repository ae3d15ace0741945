from bench.mail.driver import main

raise SystemExit(main())
