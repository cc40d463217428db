from faceattr.cli import main

raise SystemExit(main())
