from agentdeck.entry import main

raise SystemExit(main())
