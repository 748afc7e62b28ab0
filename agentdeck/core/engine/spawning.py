"""What the spawn dialog checks as the user types, and writing a new agent back to the fleet
file. The dialog itself (ui/screens/spawn.py) creates the agent through the same path as
`agentdeck spawn` (Engine.spawn), which rolls back whatever a failed step had made."""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from agentdeck.core.agents.programs import command_program
from agentdeck.core.errors import UsageError
from agentdeck.core.fleet.kinds import KINDS
from agentdeck.core.fleet.registry import Registry
from agentdeck.core.fleet.spec import Fleet
from agentdeck.core.git import worktrees as wt
from agentdeck.core.git.repo import RepoContext
from agentdeck.core.names import NAME_RE


@dataclass(frozen=True)
class Check:
    ok: bool
    message: str  # what the user sees beside the field ("" when there is nothing to say)


def check_name(ctx: RepoContext, name: str) -> Check:
    if not name:
        return Check(False, "a name is needed")
    if not NAME_RE.match(name):
        return Check(False, "letters, digits, '.', '_' and '-', starting with a letter or digit")
    agents = Registry(ctx.state_dir).load().agents
    if name in agents:
        return Check(False, f"an agent named {name} exists already")
    if twin := next((a for a in agents if a.casefold() == name.casefold()), None):
        return Check(False, f"{twin} exists already (names that differ only in case are one "
                            "folder on some disks)")
    return Check(True, "")


def suggest_branch(name: str) -> str:
    return f"feat/{name}" if name else ""


def check_branch(ctx: RepoContext, branch: str) -> Check:
    if not branch:
        return Check(False, "a branch is needed")
    try:
        wt.check_branch_name(ctx, branch)  # what `spawn` will refuse (git's special names too)
    except UsageError:
        return Check(False, "not a valid branch name (git check-ref-format)")
    holder = wt.worktree_of_branch(ctx, branch)
    if holder is not None:
        return Check(False, f"checked out in {holder.path}; git checks a branch out once")
    if wt.branch_exists(ctx, branch):
        return Check(True, "exists: the agent works on it as it is")
    return Check(True, "new branch")


def check_base(ctx: RepoContext, base: str) -> Check:
    if not base:
        return Check(True, f"default: {wt.default_base(ctx)}")
    commit = wt.resolve_commit(ctx, base)
    return Check(True, commit[:10]) if commit else Check(False, f"no such ref: {base}")


def refs(ctx: RepoContext) -> list[str]:
    """Local and remote branches, then tags: what the base field completes."""
    out = ctx.git_try("for-each-ref", "--format=%(refname:short)", "refs/heads",
                      "refs/remotes", "refs/tags") or ""
    return [r for r in out.splitlines() if r and not r.endswith("/HEAD")]


def agent_kinds(fleet: Fleet) -> list[tuple[str, str | None]]:
    """(kind, why it cannot be chosen): a kind whose program is not installed says how to
    install it."""
    kinds: list[tuple[str, str | None]] = []
    for kind, template in fleet.commands.items():
        program = command_program(template)
        if not program:
            kinds.append((kind, "its command line is empty"))
        elif shutil.which(program):
            kinds.append((kind, None))
        else:
            hint = KINDS[kind].install if kind in KINDS else None
            kinds.append((kind, f"{program} is not installed" + (f": {hint}" if hint else "")))
    return kinds
