"""What a name in agentdeck may be, and the roles an agent can have: shared by the fleet file,
the CLI's parser and the spawn dialog (kept tiny: `agentdeck --help` imports it)."""

from __future__ import annotations

import re

# \Z, not $: `$` also matches before a trailing newline, and "a1\n" is no name
NAME_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z")
ROLES = ("lead", "worker")

# git's own names for things that are not branches: `git merge @` merges HEAD, a branch named
# ORIG_HEAD is shadowed by the pseudo-ref (so "merged @ into main" merged nothing)
_PSEUDO_REF = re.compile(r"(?:[A-Z]+_)*HEAD|AUTO_MERGE")
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def branch_problem(branch: str) -> str | None:
    """Why `branch` cannot be an agent's branch, or None: git's check-ref-format rules (git is
    asked too where it is at hand) plus git's special names and option look-alikes."""
    if not branch:
        return "a branch name is needed"
    if branch.startswith("-"):
        return f"'{branch}' starts with '-', which git would take for an option"
    if branch == "@" or _PSEUDO_REF.fullmatch(branch):
        return f"'{branch}' is one of git's special names (@, HEAD, FETCH_HEAD, …), not a branch"
    if branch.startswith("refs/"):
        return f"'{branch}': write the branch's short name (feat/x, not refs/heads/feat/x)"
    parts = branch.split("/")
    if (_REF_FORBIDDEN.search(branch) or branch.endswith(".") or "" in parts
            or any(p.startswith(".") or p.endswith(".lock") for p in parts)):
        return (f"'{branch}' is not a valid branch name (git check-ref-format); use letters, "
                "digits, '/', '-', '_' and '.' — e.g. feat/auth")
    return None

# Variables a port may not be handed in (`ports.vars`, `ports.extra`): what programs read to
# find other programs, libraries, shells and homes (a port number there breaks or hijacks
# them), and the ones agentdeck sets itself (a port would silently replace them)
RESERVED_VARS = frozenset((
    "PATH", "HOME", "SHELL", "USER", "LOGNAME", "PWD", "OLDPWD", "TMPDIR", "TMP", "TEMP",
    "TERM", "COLORTERM", "TERM_PROGRAM", "TERM_PROGRAM_VERSION", "COLUMNS", "LINES", "LANG",
    "LANGUAGE", "TZ", "IFS", "ENV", "BASH_ENV", "CDPATH", "PS4", "PROMPT_COMMAND", "SHLVL",
    "MAIL", "EDITOR", "VISUAL", "PAGER", "DISPLAY", "SSH_AUTH_SOCK", "PYTHONPATH",
    "PYTHONHOME", "PYTHONSTARTUP", "NODE_OPTIONS", "NODE_PATH", "PERL5LIB", "PERL5OPT",
    "PERLLIB", "RUBYOPT", "RUBYLIB", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "CLASSPATH",
    "DATABASE_URL", "DB_SCHEMA", "COMPOSE_PROJECT_NAME", "COMPOSE_FILE", "CLAUDE_CONFIG_DIR",
    "CODEX_HOME", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
))
RESERVED_PREFIXES = ("LD_", "DYLD_", "LC_", "GIT_", "AGENTDECK_", "BASH_FUNC_", "XDG_")


def reserved_variable(name: str) -> bool:
    """Whether `name` is a variable agentdeck must not fill with a port (see RESERVED_VARS);
    in any case (http_proxy is read as HTTP_PROXY is, and Windows folds case)."""
    return name.upper() in RESERVED_VARS or name.upper().startswith(RESERVED_PREFIXES)
