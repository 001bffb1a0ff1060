from scftest.cli import main

raise SystemExit(main())
