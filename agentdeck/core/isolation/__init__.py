"""Runtime isolation between worktrees: ports, env files, databases."""
