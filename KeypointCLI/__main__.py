from KeypointCLI.main import main

raise SystemExit(main())
