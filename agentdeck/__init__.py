"""agentdeck: parallel coding agents, one worktree, port, database and env each."""

__version__ = "0.1.0"
