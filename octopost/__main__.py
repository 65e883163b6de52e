from octopost.cli import main

raise SystemExit(main())
