"""Removing agents (`rm`) and forgetting the ones whose worktree vanished (`prune`).

Nothing the user made is lost without --force: uncommitted or untracked files block removing a
worktree, and commits on no other branch block deleting a branch. The refusal says exactly what
would be lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agentdeck.core.agents import briefs
from agentdeck.core.agents.sessions import RUNNING, STOP_GRACE, SessionHost
from agentdeck.core.engine.check_results import CheckStore
from agentdeck.core.errors import OperationError, UsageError, require_extra
from agentdeck.core.fleet.registry import CREATING, AgentRecord, Registry
from agentdeck.core.fleet.spec import Fleet
from agentdeck.core.git import worktrees as wt
from agentdeck.core.git.github import Links
from agentdeck.core.git.repo import RepoContext
from agentdeck.core.git.review import forget_index
from agentdeck.core.isolation import databases

SHOWN = 5  # how many files or commits a refusal names before "and N more"


@dataclass
class Removal:
    done: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # what stays, and how to remove it by hand


def _listing(items: list[str]) -> str:
    shown = "; ".join(items[:SHOWN])
    return shown + (f"; and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


def _record(ctx: RepoContext, name: str) -> AgentRecord:
    agents = Registry(ctx.state_dir).load().agents
    rec = agents.get(name)
    if rec is None:
        known = ", ".join(sorted(agents)) or "none"
        raise UsageError(f"no agent named '{name}' (agents: {known}); `agentdeck ls` lists them")
    return rec


def lost_commits(ctx: RepoContext, rec: AgentRecord, merged_into: str | None = None) -> list[str]:
    """The commits deleting the agent's branch would lose: those on no other branch — none
    when what they changed is in `merged_into` (default: its base or the main branch), as
    after a squash or rebase merge, which leaves the commits behind and their changes in."""
    lost = wt.commits_only_on(ctx, rec.branch)
    if not lost:
        return []
    if merged_into:
        targets = [merged_into]
    else:
        main = next((w.branch for w in wt.list_worktrees(ctx) if w.path == ctx.main_root), None)
        targets = list(dict.fromkeys(t for t in (rec.base, wt.default_base(ctx), main)
                                     if t and t != rec.branch))
    if any(wt.content_merged(ctx, rec.branch, target) for target in targets):
        return []
    return lost


def would_lose(ctx: RepoContext, name: str, delete_branch: bool,
               merged_into: str | None = None) -> list[tuple[str, list[str]]]:
    """What removing the agent would discard, every item: (what, items) for its uncommitted
    and untracked files, and — with `delete_branch` — the commits on no other branch."""
    rec = _record(ctx, name)
    path = Path(rec.worktree)
    out: list[tuple[str, list[str]]] = []
    if not rec.in_main and path.exists():
        dirty = [d.strip() for d in wt.dirty_files(path, ctx)]
        if dirty:
            out.append((f"{len(dirty)} uncommitted or untracked change(s) in {path}", dirty))
    if delete_branch and wt.branch_exists(ctx, rec.branch):
        lost = lost_commits(ctx, rec, merged_into)
        if lost:
            out.append((f"{len(lost)} commit(s) of branch {rec.branch} on no other branch",
                        lost))
    return out


def retire(ctx: RepoContext, fleet: Fleet, name: str, host: SessionHost | None, *,
           force: bool = False, delete_branch: bool = False, drop_db: bool = False,
           merged_into: str | None = None) -> Removal:
    """Remove an agent that may be running in `host`: refused, with nothing stopped, while it
    would lose work (unless `force`); else its session — its whole process tree — stops before
    its worktree goes, and is forgotten after (`rm`, `merge --cleanup`, the review's D)."""
    rec = _record(ctx, name)
    db = rec.database
    if drop_db and db is not None and db.created and db.mode in ("postgres-db", "postgres-schema"):
        # said before the agent is stopped: an optional extra (core/errors.py: EXTRAS)
        require_extra("postgres", f"dropping agent {name}'s database")
    info = next((i for i in host.sessions() if i.name == name), None) if host else None
    running = info is not None and info.process == RUNNING
    if running and not force:  # (remove_agent checks again, with the agent stopped)
        _check_losses(ctx, rec, Path(rec.worktree), False, delete_branch, merged_into)
    if running and host is not None:
        host.stop(name, STOP_GRACE)
    out = remove_agent(ctx, fleet, name, force=force, delete_branch=delete_branch,
                       drop_db=drop_db, merged_into=merged_into)
    if running:
        out.done.insert(0, "stopped it and every process it started")
    if info is not None and host is not None:
        host.forget(name)  # its session and transcript go with it
    return out


def remove_agent(ctx: RepoContext, fleet: Fleet, name: str, *, force: bool = False,
                 delete_branch: bool = False, drop_db: bool = False,
                 merged_into: str | None = None) -> Removal:
    """Remove an agent's workspace; see `retire` for one that may be running."""
    registry = Registry(ctx.state_dir)
    rec = _record(ctx, name)
    if rec.status == CREATING and rec.owner_alive():
        raise OperationError(f"agent {name} is being created by pid {rec.owner_pid}; wait for it "
                             "to finish, then remove it")
    path = Path(rec.worktree)
    _check_losses(ctx, rec, path, force, delete_branch, merged_into)
    out = Removal()
    db_in_worktree = (rec.database is not None and rec.database.mode == "sqlite"
                      and not rec.in_main)
    if rec.database is not None and rec.database.created and not db_in_worktree:
        if drop_db:
            spec = fleet.agent(name)
            url = spec.database.url if spec and spec.database.mode == rec.database.mode else None
            out.done.append(databases.drop(rec.database, url, path))
        else:
            out.left.append(databases.leftover_hint(rec.database))
    if not rec.in_main:
        if path.exists() or wt.worktree_at(ctx, path) is not None:
            wt.remove_worktree(ctx, path, force=True)
            out.done.append(f"removed worktree {path}")
        else:
            wt.prune_worktrees(ctx)
    if delete_branch and wt.branch_exists(ctx, rec.branch):
        wt.delete_branch(ctx, rec.branch)
        out.done.append(f"deleted branch {rec.branch}")
    elif wt.branch_exists(ctx, rec.branch) and not rec.in_main:
        out.left.append(f"branch {rec.branch} kept (--delete-branch removes it)")
    with registry.transaction() as data:
        data.agents.pop(name, None)
    forget_index(ctx, path)
    briefs.brief_path(ctx.state_dir, name).unlink(missing_ok=True)  # what it was told
    CheckStore(ctx.state_dir).forget(name)  # what its checks said, its issue and pull request
    Links(ctx.state_dir).forget(name)
    if rec.port_numbers:
        out.done.append("freed port " + ", ".join(map(str, rec.port_numbers)))
    return out


def _check_losses(ctx: RepoContext, rec: AgentRecord, path: Path, force: bool,
                  delete_branch: bool, merged_into: str | None = None) -> None:
    if not rec.in_main and path.exists() and not force:
        dirty = wt.dirty_files(path, ctx)
        if dirty:
            raise OperationError(
                f"refusing to remove {rec.name}: {path} has {len(dirty)} uncommitted or untracked "
                f"change(s) that would be lost ({_listing([d.strip() for d in dirty])}); commit "
                "or stash them, or pass --force to discard them")
    if not delete_branch or not wt.branch_exists(ctx, rec.branch):
        return
    holder = wt.worktree_of_branch(ctx, rec.branch)
    if holder is not None and (rec.in_main or holder.path != path):
        raise UsageError(f"branch {rec.branch} is checked out in {holder.path}; it cannot be "
                         "deleted while in use — drop --delete-branch")
    lost = [] if force else lost_commits(ctx, rec, merged_into)
    if lost:
        raise OperationError(
            f"refusing to delete branch {rec.branch}: {len(lost)} commit(s) are on no other branch "
            f"and would be lost ({_listing(lost)}); merge or push them, keep the branch (drop "
            "--delete-branch), or pass --force")


@dataclass
class PruneReport:
    removed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # the agents forgotten


def prune(ctx: RepoContext) -> PruneReport:
    """`git worktree prune`, then forget agents whose worktree is gone (freeing their ports)."""
    wt.prune_worktrees(ctx)
    report = PruneReport()
    with Registry(ctx.state_dir).transaction() as data:
        for name, rec in list(data.agents.items()):
            if rec.in_main or (rec.status == CREATING and rec.owner_alive()):
                continue
            if Path(rec.worktree).exists():
                if rec.status == CREATING:
                    report.notes.append(f"{name}: creation was interrupted; `agentdeck up` "
                                        f"finishes it, `agentdeck rm {name}` removes it")
                continue
            del data.agents[name]
            report.names.append(name)
            what = f"{name}: worktree {rec.worktree} is gone; entry removed"
            if rec.port_numbers:
                what += ", freed port " + ", ".join(map(str, rec.port_numbers))
            report.removed.append(what)
            if rec.database is not None and rec.database.created and rec.database.mode != "sqlite":
                report.notes.append(f"{name}: {databases.leftover_hint(rec.database)}")
            if wt.branch_exists(ctx, rec.branch):
                report.notes.append(f"{name}: branch {rec.branch} kept")
    return report
