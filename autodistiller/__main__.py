from autodistiller.cli import main

raise SystemExit(main())
