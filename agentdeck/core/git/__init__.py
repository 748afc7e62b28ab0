"""The repository: the one git runner, worktrees, diffs, review (diff, radar, merge), watching
refs."""
