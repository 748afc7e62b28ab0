"""The errors the engine raises. The CLI prints each as one line and exits with its code. One of
them is a missing extra (an optional part of agentdeck), checked here before its feature runs."""

from typing import NamedTuple


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



class Extra(NamedTuple):
    module: str  # what agentdeck imports
    package: str  # what pip installs
    needed_by: str


# The optional parts of agentdeck, each a pip extra. A plain `pip install agentdeck` leaves them
# out (textual-serve with aiohttp is ~15 MB, psycopg ~13 MB): most users never serve the
# dashboard to a browser or give agents PostgreSQL databases.
EXTRAS = {
    "serve": Extra("textual_serve.server", "textual-serve", "agentdeck serve"),
    "postgres": Extra("psycopg", "psycopg",
                      "a PostgreSQL database (modes postgres-db, postgres-schema)"),
    "acp": Extra("acp", "agent-client-protocol", "an ACP agent (channel: acp)"),
}


class MissingExtra(OperationError):
    """A feature whose extra is not installed: one line naming it and the install command."""

    def __init__(self, extra: str, needed_by: str = "", reason: str = "") -> None:
        spec = EXTRAS[extra]
        state = f"cannot be loaded ({reason})" if reason else "is not installed"
        super().__init__(f"{needed_by or spec.needed_by} needs {spec.package}, which {state}: "
                         f"{install_line(extra)}")


def install_line(extra: str, prefix: str | None = None) -> str:
    """The command that adds `extra` to the environment agentdeck runs from: pip would put it
    into the wrong one for a pipx or uv tool install, so those get their own tool's line."""
    import sys

    where = (prefix or sys.prefix).replace("\\", "/")
    if "/pipx/venvs/" in where:
        return f"pipx install --force 'agentdeck[{extra}]'"
    if "/uv/tools/" in where:
        return f"uv tool install --reinstall 'agentdeck[{extra}]'"
    return f"pip install 'agentdeck[{extra}]'"


def extra_problem(extra: str) -> str | None:
    """None when `extra`'s module imports; else why not ("" when it is simply not there)."""
    import importlib

    module = EXTRAS[extra].module
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module + ".").startswith(exc.name + "."):
            return ""  # the package itself (or its own module) is missing
        return one_line(str(exc))  # installed, but something it needs is not
    except ImportError as exc:  # e.g. psycopg without libpq
        return one_line(str(exc))
    return None


def require_extra(extra: str, needed_by: str = "") -> None:
    """Raise MissingExtra unless `extra`'s module imports. Called before the feature changes
    anything, so a missing package is said before a worktree or a server is made."""
    reason = extra_problem(extra)
    if reason is not None:
        raise MissingExtra(extra, needed_by, reason)
