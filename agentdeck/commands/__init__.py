"""The CLI's commands, one module per family; agentdeck/cli.py parses and dispatches."""
