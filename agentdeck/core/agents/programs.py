"""The program an agent's command starts, and where it is: a bare name on the agent's PATH; a
path (`./ask.sh`, `tools/agent`) relative to the agent's worktree, where the agent runs — not to
wherever agentdeck itself was started (the session host runs in the registry folder). Session
hosts (starting it) and `doctor` (checking it) both go by this."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path


def command_program(template: str) -> str:
    """The program a command template starts, as written (past `env` and its options and
    VAR=value words): "claude", "/opt/bin/claude", "./ask.sh"; "" for an empty command."""
    try:
        words = shlex.split(template)
    except ValueError:  # (an unbalanced quote: the config reader reports it)
        words = template.split()
    if words and Path(words[0]).name == "env":
        words = words[1:]
        while words and (words[0].startswith("-") or "=" in words[0]):
            words = words[1:]
    return words[0] if words else ""


def find_program(program: str, cwd: str | Path, path: str | None = None) -> str | None:
    """Where `program` is, as an absolute path (a path relative to `cwd`), or None."""
    if not program:
        return None
    if os.sep not in program:
        return shutil.which(program, path=path)
    candidate = Path(cwd, program)  # (an absolute `program` stays itself)
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate.absolute())
    return None


def absent(program: str, cwd: str | Path) -> str:
    """What is wrong with a `program` find_program did not find."""
    if os.sep not in program:
        return f"{program}: not found on PATH"
    where = Path(cwd, program)
    return f"{program}: {where} " + ("is not executable (chmod +x it)" if where.is_file()
                                     else "does not exist")


def missing(program: str, cwd: str | Path, kind: str) -> str:
    """Why `program` cannot be started, and what to do about it."""
    if not program:
        return f"no command; set commands.{kind} in the fleet file"
    if os.sep in program:
        return (f"{absent(program, cwd)}; a relative command is found from the agent's "
                f"worktree (commands.{kind} in the fleet file)")
    return (f"{absent(program, cwd)}; install it or set commands.{kind} in the fleet file "
            "(agentdeck doctor lists what is installed)")
