"""The orchestrator the CLI, the UI and the daemon call: spawn, provision, start, stop, remove,
setup, doctor."""
