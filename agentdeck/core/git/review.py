"""Reviewing agents' work: diffs against their base, the conflict radar between every pair of
agents, the scope check, and merging.

Uncommitted work counts too: a worktree's files become a tree through a temporary index (its
own file, never the agent's index), then a commit object that no ref points at, so git's own
machinery (`merge-tree --write-tree`, `diff`) sees exactly what the agent has on disk without
anything of the agent's being touched.
"""

from __future__ import annotations

import hashlib  # (at the top: the radar's scans run on threads, never a first import there)
import itertools
import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from agentdeck.core.errors import OperationError, UsageError
from agentdeck.core.files import locked, open_private, private_dir
from agentdeck.core.fleet.registry import AgentRecord
from agentdeck.core.git import worktrees as wt
from agentdeck.core.git.repo import RepoContext

MERGE_LOG = "merges.jsonl"  # under the registry folder


def base_of(ctx: RepoContext, rec: AgentRecord) -> str:
    return rec.base or wt.default_base(ctx)


def branch_ref(rec: AgentRecord) -> str:
    """Where the agent's branch is in this repository: its own, or — another host's agent —
    its tip as last fetched from that host (core/remote.fetch_branches)."""
    if rec.host:
        return f"refs/agentdeck/hosts/{rec.host}/{rec.branch}"
    return f"refs/heads/{rec.branch}"


def work_commit(ctx: RepoContext, rec: AgentRecord, uncommitted: bool = True) -> str:
    """The agent's branch tip, or — with uncommitted work on disk — a commit of its worktree
    as it is now (parented on the tip, reachable from no ref). Another host's agent: its
    committed work only (its disk is there)."""
    tip = ctx.git("rev-parse", "--verify", f"{branch_ref(rec)}^{{commit}}").strip()
    worktree = Path(rec.worktree)
    if not uncommitted or rec.host or not worktree.is_dir():
        return tip
    tree = worktree_tree(ctx, worktree, tip)
    if tree == ctx.git("rev-parse", f"{tip}^{{tree}}").strip():
        return tip
    return ctx.git("commit-tree", tree, "-p", tip, "-m", f"agentdeck: {rec.name} on disk",
                   env=_identity(ctx)).strip()


def worktree_tree(ctx: RepoContext, worktree: Path, head: str) -> str:
    """The tree of a worktree's files (tracked and untracked, minus ignored), through an index
    of agentdeck's own under the registry folder — kept between scans, so git re-reads only
    the files whose stat changed — never the agent's index."""
    index = ctx.state_dir / "indexes" / (_key(worktree) + ".index")
    private_dir(index.parent)
    env = {"GIT_INDEX_FILE": str(index)}
    # two scans at once (the sidebar's and the review screen's, or a dashboard's and the
    # daemon's) would trip over each other's index.lock: one at a time per worktree
    with locked(index.with_suffix(".lock-agentdeck")):
        if not index.exists():
            ctx.git("read-tree", head, cwd=worktree, env=env)
        ctx.git("add", "-A", cwd=worktree, env=env)
        return ctx.git("write-tree", cwd=worktree, env=env).strip()


def forget_index(ctx: RepoContext, worktree: Path) -> None:
    """Drop agentdeck's index of a worktree (its agent was removed)."""
    index = ctx.state_dir / "indexes" / (_key(worktree) + ".index")
    index.unlink(missing_ok=True)
    index.with_suffix(".lock-agentdeck").unlink(missing_ok=True)


def _key(worktree: Path) -> str:
    return hashlib.sha1(str(worktree.resolve()).encode()).hexdigest()[:16]


def diff(ctx: RepoContext, rec: AgentRecord, uncommitted: bool = False,
         context: int = 3) -> str:
    """`git diff base...branch` (with uncommitted: against the worktree as it is)."""
    base = base_of(ctx, rec)
    head = work_commit(ctx, rec, uncommitted)
    merge_base = ctx.git("merge-base", base, head).strip()
    return ctx.git("diff", f"-U{context}", "--no-color", merge_base, head)


def changed_files(ctx: RepoContext, base: str, head: str) -> set[str]:
    merge_base = ctx.git("merge-base", base, head).strip()
    out = ctx.git("diff", "--name-only", "--no-renames", merge_base, head)
    return {line for line in out.splitlines() if line}


@dataclass
class Pair:
    a: str
    b: str
    conflicts: list[str] = field(default_factory=list)  # files git cannot merge
    overlap: list[str] = field(default_factory=list)  # files both changed (may still merge)


@dataclass
class Radar:
    pairs: list[Pair]
    scope: dict[str, list[str]]  # agent -> forbidden files it changed
    took: float = 0.0
    sizes: dict[str, int] = field(default_factory=dict)  # agent -> files it changed

    def as_json(self) -> dict[str, object]:
        return {"pairs": [asdict(p) for p in self.pairs], "scope": self.scope,
                "merge_order": self.merge_order()}

    def merge_order(self) -> list[list[str]]:
        """For each set of agents whose work touches the same files, the order to merge them
        in: the one the others depend on least first — the fewest predicted conflicts with
        the rest, then the fewest files shared with them, then the smallest change (each merge
        then leaves the others the least to resolve)."""
        links: dict[str, set[str]] = {}
        for pair in self.pairs:
            links.setdefault(pair.a, set()).add(pair.b)
            links.setdefault(pair.b, set()).add(pair.a)
        conflicts = {n: sum(1 for p in self.pairs if n in (p.a, p.b) and p.conflicts)
                     for n in links}
        shared = {n: sum(len(p.overlap) for p in self.pairs if n in (p.a, p.b)) for n in links}
        groups: list[list[str]] = []
        seen: set[str] = set()
        for start in sorted(links):
            if start in seen:
                continue
            group, todo = set(), [start]
            while todo:  # the agents linked to it, however indirectly
                name = todo.pop()
                if name not in group:
                    group.add(name)
                    todo.extend(links[name] - group)
            seen |= group
            groups.append(sorted(group, key=lambda n: (conflicts[n], shared[n],
                                                      self.sizes.get(n, 0), n)))
        return groups


def predict(ctx: RepoContext, left: str, right: str) -> list[str]:
    """Files `git merge-tree` says would conflict when merging two commits."""
    result = ctx.run("merge-tree", "--write-tree", "--name-only", "--no-messages",
                         left, right)
    if result.returncode == 0:
        return []
    if result.returncode != 1:
        raise OperationError(f"git merge-tree failed: {result.stderr.strip()}")
    lines = result.stdout.splitlines()[1:]  # the first line is the (conflicted) tree
    return sorted({line for line in lines if line})


MEMO_LIMIT = 2000  # remembered comparisons before the memo starts over


@dataclass
class RadarMemo:
    """What a radar scan learnt, kept for the next one: each agent's work commit (recomputed
    only for agents whose worktree or branch changed since), and the files and conflicts of
    commits already compared (pure functions of the commits). The dashboard's radar runs on
    change events, so an idle fleet costs no git at all, and a change costs git for one agent.
    Thread-safe: `stale()` may be called from any thread; scans run one at a time."""

    heads: dict[str, str] = field(default_factory=dict)
    changed: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    conflicts: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)  # one scan at a time
    _marks: threading.Lock = field(default_factory=threading.Lock)  # held only for a moment
    _stale: set[str] = field(default_factory=set)
    _all_stale: bool = False

    def stale(self, names: set[str] | None) -> None:
        """Agents whose work changed (None: everything, e.g. a base branch moved). Never
        waits for a scan: the event loop and the watcher call it."""
        with self._marks:
            if names is None:
                self._all_stale = True
            else:
                self._stale |= names

    def _forget_stale(self) -> None:  # (a scan, under `lock`)
        with self._marks:
            stale, everything = self._stale, self._all_stale
            self._stale, self._all_stale = set(), False
        if everything:
            self.heads.clear()
            self.changed.clear()
        for name in stale:
            self.heads.pop(name, None)


def radar(ctx: RepoContext, records: list[AgentRecord], uncommitted: bool = True,
          memo: RadarMemo | None = None) -> Radar:
    start = time.perf_counter()
    memo = memo if memo is not None else RadarMemo()
    with memo.lock:
        memo._forget_stale()
        if len(memo.changed) + len(memo.conflicts) > MEMO_LIMIT:  # each edit: a new commit
            memo.changed.clear()
            memo.conflicts.clear()
        return _scan(ctx, records, uncommitted, memo, start)


def _scan(ctx: RepoContext, records: list[AgentRecord], uncommitted: bool, memo: RadarMemo,
          start: float) -> Radar:
    workers = [r for r in records if not r.in_main]
    heads = {}
    for r in workers:
        if r.name not in memo.heads:
            memo.heads[r.name] = work_commit(ctx, r, uncommitted)
        heads[r.name] = memo.heads[r.name]
    changed = {}
    for r in workers:
        key = (base_of(ctx, r), heads[r.name])
        if key not in memo.changed:
            memo.changed[key] = changed_files(ctx, *key)
        changed[r.name] = memo.changed[key]
    pairs = []
    for a, b in itertools.combinations(workers, 2):
        overlap = sorted(changed[a.name] & changed[b.name])
        conflicts: list[str] = []
        if overlap:
            both = (heads[a.name], heads[b.name])
            if both not in memo.conflicts:
                memo.conflicts[both] = predict(ctx, *both)
            conflicts = memo.conflicts[both]
        if overlap or conflicts:
            pairs.append(Pair(a.name, b.name, conflicts, overlap))
    scope = {}
    for rec in workers:
        bad = sorted(f for f in changed[rec.name]
                     if any(f == p.rstrip("/") or f.startswith(p.rstrip("/") + "/")
                            for p in rec.forbid))
        if bad:
            scope[rec.name] = bad
    return Radar(pairs, scope, time.perf_counter() - start,
                 {r.name: len(changed[r.name]) for r in workers})


@dataclass
class Merged:
    agent: str
    branch: str
    into: str
    how: str
    commit: str


@dataclass(frozen=True)
class MergePlan:
    """What a merge would do, asked before it is done: which branch goes where, and how much."""

    branch: str
    into: str
    commits: int  # on the branch and not on the target
    files: int  # the branch's changes since it left the target

    @property
    def question(self) -> str:
        return (f"merge {self.branch} into {self.into} ({self.commits} "
                f"commit{'s' * (self.commits != 1)}, {self.files} file{'s' * (self.files != 1)})?")


def merge_target(ctx: RepoContext, rec: AgentRecord, into: str | None = None) -> str:
    """The branch a merge of the agent's work goes into: `into`, else its base's branch."""
    return into or base_of(ctx, rec).removeprefix("origin/")


def merge_plan(ctx: RepoContext, rec: AgentRecord, into: str | None = None) -> MergePlan:
    """The merge of the agent's branch into `into` (default: its base's branch), counted here
    (another host's agent: its branch as last fetched, against this repository's target)."""
    target = merge_target(ctx, rec, into)
    span = (f"refs/heads/{target}", branch_ref(rec))
    commits = (ctx.git_try("rev-list", "--count", "..".join(span)) or "0").strip()
    files = ctx.git_try("diff", "--name-only", "...".join(span)) or ""
    return MergePlan(rec.branch, target, int(commits) if commits.isdigit() else 0,
                     len(files.splitlines()))


def merge(ctx: RepoContext, rec: AgentRecord, into: str | None = None, how: str = "merge",
          state_dir: Path | None = None) -> Merged:
    """Merge an agent's branch into `into` (default: its base branch) in the worktree that has
    `into` checked out. Refused, with nothing changed, when that worktree has uncommitted
    changes in files the merge changes, or the merge would conflict. Uncommitted changes to
    other files stay as they are (as git keeps them): the fleet file agentdeck itself edits
    when an agent is added or removed must not block every merge after."""
    target = merge_target(ctx, rec, into)
    holder = wt.worktree_of_branch(ctx, target)
    if holder is None:
        raise UsageError(f"no worktree has {target} checked out; check it out somewhere "
                         "(e.g. the main worktree) and merge again")
    dirty = [line[3:] for line in ctx.git("status", "--porcelain", "--untracked-files=no",
                                          cwd=holder.path).splitlines() if line.strip()]
    if dirty:
        changed = set(ctx.git("diff", "--name-only", f"refs/heads/{target}...refs/heads/"
                              f"{rec.branch}").splitlines())
        # a rename ("old -> new") is taken as touching the merge: never guessed at
        touched = [f for f in dirty if f in changed or " -> " in f]
        if touched:
            files = ", ".join(touched[:5])
            raise OperationError(f"{target} has uncommitted changes in {holder.path} to files "
                                 f"the merge changes ({files}); commit or stash them, then "
                                 "merge")
    conflicts = predict(ctx, f"refs/heads/{target}", f"refs/heads/{rec.branch}")
    if conflicts:
        raise OperationError(f"merging {rec.branch} into {target} would conflict in "
                             f"{', '.join(conflicts)}; resolve on {rec.branch} first")
    message = f"Merge {rec.branch} ({rec.name}) into {target}"
    env = _identity(ctx)
    if how == "squash":
        ctx.git("merge", "--squash", rec.branch, cwd=holder.path, env=env)
        ctx.git("commit", "-m", f"{rec.name}: {rec.branch} (squashed)", cwd=holder.path,
                env=env)
    else:
        flags = ["--no-ff"] if how == "no-ff" else []
        ctx.git("merge", *flags, "-m", message, rec.branch, cwd=holder.path, env=env)
    commit = ctx.git("rev-parse", "HEAD", cwd=holder.path).strip()
    tip = ctx.git("rev-parse", f"refs/heads/{rec.branch}").strip()
    if how == "merge" and commit == tip:
        how = "fast-forward"  # no merge commit: the target now is the branch
    done = Merged(rec.name, rec.branch, target, how, commit)
    if state_dir is not None:
        with open_private(state_dir / MERGE_LOG, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"time": time.time(), **asdict(done)}) + "\n")
    return done


def merge_warnings(ctx: RepoContext, rec: AgentRecord) -> list[str]:
    """What a merge of the agent's branch would not say by itself: files it changed outside
    its scope, and work in its worktree that is not committed (so not merged)."""
    notes = []
    forbidden = radar(ctx, [rec], uncommitted=False).scope.get(rec.name)
    if forbidden:
        notes.append(f"{rec.branch} changes paths {rec.name} was told not to touch: "
                     f"{', '.join(forbidden)}")
    if not rec.in_main and Path(rec.worktree).is_dir():
        dirty = [d.strip() for d in wt.dirty_files(Path(rec.worktree), ctx)]
        if dirty:
            notes.append(f"{rec.worktree} holds {len(dirty)} uncommitted change(s) the merge "
                         f"leaves out: {', '.join(dirty[:5])}"
                         + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else ""))
    return notes


def behind(ctx: RepoContext, rec: AgentRecord, target: str) -> int:
    """How many commits `target` has that the agent's branch does not."""
    out = ctx.git_try("rev-list", "--count", f"{branch_ref(rec)}..refs/heads/{target}")
    return int(out.strip()) if out and out.strip().isdigit() else 0


def _identity(ctx: RepoContext) -> dict[str, str]:
    """An author for the commits agentdeck makes, only when git has none configured."""
    if ctx.git_try("config", "user.email") and ctx.git_try("config", "user.name"):
        return {}
    return {k: v for k, v in (("GIT_AUTHOR_NAME", "agentdeck"),
                              ("GIT_AUTHOR_EMAIL", "agentdeck@localhost"),
                              ("GIT_COMMITTER_NAME", "agentdeck"),
                              ("GIT_COMMITTER_EMAIL", "agentdeck@localhost"))
            if k not in os.environ}


def radar_notes(ctx: RepoContext, records: list[AgentRecord],
                memo: RadarMemo | None = None) -> dict[str, str]:
    """What the sidebar's radar column says for each agent: predicted conflicts with another
    agent first (⚠), then files outside its scope, clean overlaps (~), and how far behind its
    base it is; uncommitted work counts."""
    found = radar(ctx, records, uncommitted=True, memo=memo)
    lag = {r.name: behind(ctx, r, base_of(ctx, r).removeprefix("origin/"))
           for r in records if not r.in_main}
    notes: dict[str, list[str]] = {r.name: [] for r in records}
    for pair in found.pairs:
        for me, other in ((pair.a, pair.b), (pair.b, pair.a)):
            if pair.conflicts:
                notes[me].insert(0, f"⚠ {other}: {', '.join(pair.conflicts)}")
            else:
                notes[me].append(f"~ {other}: {', '.join(pair.overlap)}")
    for name, files in found.scope.items():
        notes[name].insert(0, f"⚠ forbidden: {', '.join(files)}")
    for name, n in lag.items():
        if n:
            notes[name].append(f"{n} behind")
    return {k: " · ".join(v) for k, v in notes.items()}
