"""Branches and worktrees: create from a base, list, check what is dirty or unmerged, remove."""

from __future__ import annotations

import contextlib
import os
import shutil
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from agentdeck.core.errors import OperationError, UsageError
from agentdeck.core.git.repo import RepoContext
from agentdeck.core.git.repo import registrations_lock as repo_lock
from agentdeck.core.names import branch_problem


@dataclass(frozen=True)
class Worktree:
    path: Path
    head: str | None
    branch: str | None  # short name, None when detached or bare
    prunable: bool = False


def list_worktrees(ctx: RepoContext) -> list[Worktree]:
    with registrations_lock(ctx, shared=True):  # never read a registration half-written
        out = ctx.git("worktree", "list", "--porcelain")
    entries: list[Worktree] = []
    fields: dict[str, str] = {}
    for line in [*out.splitlines(), ""]:
        if line:
            key, _, value = line.partition(" ")
            fields[key] = value
            continue
        if "worktree" in fields:
            branch = fields.get("branch")
            entries.append(Worktree(
                path=Path(fields["worktree"]),
                head=fields.get("HEAD"),
                branch=branch.removeprefix("refs/heads/") if branch else None,
                prunable="prunable" in fields,
            ))
        fields = {}
    return entries


def worktree_of_branch(ctx: RepoContext, branch: str) -> Worktree | None:
    return next((w for w in list_worktrees(ctx) if w.branch == branch), None)


def worktree_at(ctx: RepoContext, path: Path) -> Worktree | None:
    resolved = _real(path)
    return next((w for w in list_worktrees(ctx) if _real(w.path) == resolved), None)


def check_branch_name(ctx: RepoContext, branch: str) -> None:
    """A usage error unless `branch` can be an agent's own branch: our rules (git's special
    names, '-'), then git's, as a ref and as `--branch` spells it (which refuses HEAD; its
    output must be the name itself: "@" and "@{-1}" expand to other branches)."""
    problem = branch_problem(branch)
    if problem is None and not (
            ctx.git_ok("check-ref-format", f"refs/heads/{branch}")
            and (ctx.git_try("check-ref-format", "--branch", branch) or "").strip() == branch):
        problem = (f"'{branch}' is not a valid branch name (git check-ref-format); use "
                   "letters, digits, '/', '-', '_' and '.' — e.g. feat/auth")
    if problem is not None:
        raise UsageError(problem)


def branch_exists(ctx: RepoContext, branch: str) -> bool:
    return ctx.git_ok("show-ref", "--verify", "--quiet", f"refs/heads/{branch}")


def resolve_commit(ctx: RepoContext, ref: str) -> str | None:
    out = ctx.git_try("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    return out.strip() if out else None


def default_base(ctx: RepoContext) -> str:
    """origin/HEAD's branch when there is a remote, else the main worktree's branch."""
    if ctx.git_ok("rev-parse", "--verify", "--quiet", "refs/remotes/origin/HEAD"):
        return ctx.git("rev-parse", "--abbrev-ref", "refs/remotes/origin/HEAD").strip()
    for candidate in ("origin/main", "origin/master"):
        if resolve_commit(ctx, candidate):
            return candidate
    head = ctx.git("rev-parse", "--abbrev-ref", "HEAD", cwd=ctx.main_root).strip()
    return head if head != "HEAD" else "HEAD"


def add_worktree(ctx: RepoContext, path: Path, branch: str, new_from: str | None) -> None:
    """`git worktree add`; with `new_from` the branch is created there in the same step.

    Registration and checkout are two steps. `git worktree add` reads every other worktree's
    registration (is the branch checked out there?) and fails on one another add is still
    writing ("failed to read …/commondir") — after it may already have made the branch. So
    registering (`--no-checkout`: fast) holds the registrations lock; the checkout, the slow
    part, runs in parallel outside it.
    """
    if new_from is None:
        args = ["worktree", "add", "--no-checkout", str(path), branch]
    else:
        # --no-track: the branch is the agent's own, not a copy of the remote one.
        args = ["worktree", "add", "--no-checkout", "--no-track", "-b", branch, str(path),
                new_from]
    # a failure leaves nothing of this call: not the folders made for it, nor a registration
    # (whose checkout would keep the caller from deleting the branch it made)
    made = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    registered = False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with registrations_lock(ctx):
            ctx.git(*args)
        registered = True
        ctx.git("checkout", "--quiet", "--force", cwd=path)
    except BaseException:
        if registered:
            with contextlib.suppress(Exception):
                remove_worktree(ctx, path, force=True)
        for folder in made:  # innermost first; one that is not empty stays
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def registrations_lock(ctx: RepoContext, shared: bool = False) -> AbstractContextManager[None]:
    return repo_lock(ctx.state_dir, shared)


def remove_worktree(ctx: RepoContext, path: Path, force: bool) -> None:
    with registrations_lock(ctx):
        _remove(ctx, path, force)


def _remove(ctx: RepoContext, path: Path, force: bool) -> None:
    args = ["worktree", "remove", *(["--force", "--force"] if force else []), str(path)]
    if path.exists():
        ctx.git(*args)
    else:
        ctx.git("worktree", "prune")
    if path.exists() and force:
        shutil.rmtree(path, ignore_errors=True)


def prune_worktrees(ctx: RepoContext) -> None:
    """`git worktree prune`: drop registrations whose folder is gone."""
    with registrations_lock(ctx):
        ctx.git("worktree", "prune")


def discard_unfinished(ctx: RepoContext, path: Path) -> None:
    """Drop a worktree a killed run was still creating (nobody used it). Depending on where the
    kill landed, its `.git` file or its registration may be missing or half-written, and
    `git worktree remove` refuses such a worktree ("is not a .git file"). So delete the folder
    and exactly this worktree's registration (`worktrees/<id>`, found through its `gitdir`
    file, see gitrepository-layout)."""
    with registrations_lock(ctx):
        admin = _registration_of(ctx, path / ".git")
        if admin is None:
            _remove(ctx, path, force=True)
            return
        shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(admin)


def _registration_of(ctx: RepoContext, dot_git: Path) -> Path | None:
    registrations = ctx.common_dir / "worktrees"
    if not registrations.is_dir():
        return None
    for admin in registrations.iterdir():
        gitdir = admin / "gitdir"
        if not gitdir.is_file():
            continue
        target = Path(gitdir.read_text(encoding="utf-8").strip())
        # git >= 2.48 may record it relative to the registration (worktree.useRelativePaths)
        if (admin / target).resolve() == dot_git.resolve():
            return admin
    return None


def clear_stale_ref_lock(ctx: RepoContext, branch: str, older_than: float) -> bool:
    """Remove `refs/heads/<branch>.lock` left by a git that was killed while creating the branch
    (git never removes it then, and refuses the branch until someone does). Only for the branch
    of a record whose run is dead, and only a lock made before this run began."""
    lock = ctx.common_dir / "refs" / "heads" / f"{branch}.lock"
    try:
        if lock.stat().st_mtime < older_than:
            lock.unlink()
            return True
    except FileNotFoundError:
        pass
    return False


def dirty_files(path: Path, ctx: RepoContext) -> list[str]:
    """`git status --porcelain` lines: uncommitted and untracked (not ignored) files."""
    out = ctx.git("status", "--porcelain=v1", "--untracked-files=all", cwd=path)
    return [line for line in out.splitlines() if line.strip()]


def commits_only_on(ctx: RepoContext, branch: str) -> list[str]:
    """Commits reachable from `branch` and from no other branch or remote ref: lost on delete."""
    # --exclude before --branches takes the name without refs/heads/ (see git rev-list docs).
    out = ctx.git("log", "--format=%h %s", f"refs/heads/{branch}", "--not",
                  f"--exclude={branch}", "--branches", "--remotes", "--tags")
    return [line for line in out.splitlines() if line.strip()]


def content_merged(ctx: RepoContext, branch: str, into: str) -> bool:
    """Whether merging `branch` into `into` would change nothing: what the branch changed is
    there already. A squash or rebase merge leaves the branch's commits on no other branch but
    its changes in the target; by content it is merged."""
    target = ctx.git_try("rev-parse", "--verify", "--quiet", f"{into}^{{tree}}")
    result = ctx.run("merge-tree", "--write-tree", "--no-messages", into, f"refs/heads/{branch}")
    return bool(target) and result.returncode == 0 and \
        result.stdout.split("\n", 1)[0].strip() == (target or "").strip()


def delete_branch(ctx: RepoContext, branch: str) -> None:
    with registrations_lock(ctx, shared=True):  # git reads every registration: is it out?
        ctx.git("branch", "-D", branch)


def suggest_branch(ctx: RepoContext, branch: str) -> str:
    for n in range(2, 100):
        candidate = f"{branch}-{n}"
        if not branch_exists(ctx, candidate):
            return candidate
    raise OperationError(f"cannot find a free branch name like {branch}-N")


def _real(path: Path) -> str:
    return os.path.realpath(path)
