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


def one_line(message: str) -> str:
    """`message` as one line: a newline or another control character a hostile value carried
    into it (a name, a branch, a path) is shown escaped, never obeyed by the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in message)
