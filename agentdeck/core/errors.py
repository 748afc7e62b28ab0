"""The errors the engine raises. The CLI prints each as one line and exits with its code."""


class AgentdeckError(Exception):
    """A failed operation: exit status 1."""

    exit_code = 1


class UsageError(AgentdeckError):
    """Bad input from the user (arguments, fleet file, repository state): exit status 2."""

    exit_code = 2


class ConfigError(UsageError):
    """A fleet file that cannot be used; the message starts with file:line:col."""


class OperationError(AgentdeckError):
    """Something the engine tried did not work (git, database, install)."""
