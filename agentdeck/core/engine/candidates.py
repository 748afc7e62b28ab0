"""Best of N: one task given to N agents (`fanout`), each on its own branch, worktree, port and
database — candidates of one group — compared side by side (`compare`), and one of them kept
(`keep`: merged as `merge` does, its siblings removed).

The groups are kept in the registry folder (`candidates.json`), written before the agents are
made (as the registry is), so `keep` knows exactly which agents are its siblings: never an
unrelated agent whose name happens to look like one."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentdeck.core.agents.sessions import SessionHost
from agentdeck.core.engine.check_results import CheckStore, branch_tip
from agentdeck.core.errors import AgentdeckError, UsageError
from agentdeck.core.files import atomic_write, locked
from agentdeck.core.fleet.registry import AgentRecord, Registry
from agentdeck.core.fleet.spec import AgentSpec, Fleet
from agentdeck.core.git import review
from agentdeck.core.git.repo import RepoContext
from agentdeck.core.names import NAME_RE

GROUPS = "candidates.json"
MOST = 10  # candidates in one fanout (agentdeck is for 2-10 agents)


@dataclass
class Group:
    base: str
    task: str
    agents: list[str]
    kinds: list[str] = field(default_factory=list)
    created: float = 0.0


class Groups:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.path = state_dir / GROUPS

    def load(self) -> dict[str, Group]:
        with self._locked():
            return self._read()

    @contextmanager
    def transaction(self) -> Iterator[dict[str, Group]]:
        with self._locked():
            data = self._read()
            yield data
            payload = {"version": 1, "groups": {b: asdict(g) for b, g in sorted(data.items())}}
            atomic_write(self.path, json.dumps(payload, indent=2) + "\n", mode=0o600)

    def of(self, name: str) -> Group | None:
        """The group an agent is a candidate of."""
        return next((g for g in self.load().values() if name in g.agents), None)

    def forget(self, names: Sequence[str]) -> None:
        """These agents were removed: out of their groups (an empty group goes)."""
        with self.transaction() as data:
            for base, group in list(data.items()):
                group.agents = [a for a in group.agents if a not in names]
                if not group.agents:
                    del data[base]

    def _locked(self) -> AbstractContextManager[None]:
        return locked(self.dir / "candidates.lock")

    def _read(self) -> dict[str, Group]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            return {}
        return {b: Group(**{k: v for k, v in g.items() if k in Group.__dataclass_fields__})
                for b, g in raw.get("groups", {}).items()}


def plan_fanout(ctx: RepoContext, fleet: Fleet, base: str, task: str, count: int,
                kinds: Sequence[str]) -> list[AgentSpec]:
    """The candidates' specs: BASE-1 … BASE-N, each on branch agentdeck/BASE-i, with the same
    task, the kinds taken in turn from `kinds` (default: the fleet's default kind). Refused
    when a name is taken, in the registry or the fleet file."""
    if not NAME_RE.match(base):
        raise UsageError(f"'{base}' may use letters, digits, '.', '_' and '-', starting with a "
                         "letter or digit")
    if not task.strip():
        raise UsageError("the task (--task) is what every candidate is to do: it cannot be "
                         "empty")
    if not 1 <= count <= MOST:
        raise UsageError(f"--count is how many candidates: 1 to {MOST}")
    unknown = [k for k in kinds if k not in fleet.commands]
    if unknown:
        raise UsageError(f"unknown agent kind {', '.join(unknown)}; known: "
                         f"{', '.join(fleet.commands)} (add others under 'commands:')")
    names = [f"{base}-{i}" for i in range(1, count + 1)]
    taken = set(Registry(ctx.state_dir).load().agents) | {a.name for a in fleet.agents} | {
        n for g in Groups(ctx.state_dir).load().values() for n in g.agents}
    clash = [n for n in names if n in taken]
    if clash or base in Groups(ctx.state_dir).load():
        raise UsageError(f"{', '.join(clash) or base} exist{'s' * (len(clash) < 2)} already: "
                         f"pick another BASE (agentdeck compare {base} shows the group)")
    return [fleet.spec_for(name, f"agentdeck/{name}", task=task,
                           agent=kinds[i % len(kinds)] if kinds else None)
            for i, name in enumerate(names)]


def record_group(ctx: RepoContext, base: str, task: str, specs: Sequence[AgentSpec]) -> None:
    with Groups(ctx.state_dir).transaction() as data:
        data[base] = Group(base, task, [s.name for s in specs], [s.agent for s in specs],
                           time.time())


@dataclass
class Candidate:
    """One candidate as `compare` shows it."""

    name: str
    agent: str
    branch: str
    commits: int = 0
    files: int = 0
    added: int = 0
    removed: int = 0
    uncommitted: int = 0  # files changed on disk, not committed (not in what is compared)
    checks: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)  # "other: file, file" (outside the group)
    seconds: float | None = None  # from its making to its last commit
    usage: Mapping[str, Any] | None = None  # tokens and cost, where its session host says

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Comparison:
    candidates: list[Candidate]
    # the radar's merge order for agents whose work touches the same files as a candidate's,
    # where some are not candidates (the candidates all touch the same files: one is kept)
    orders: list[list[str]] = field(default_factory=list)


def compare(ctx: RepoContext, group: Group, usage: Mapping[str, Mapping[str, Any]] | None = None
            ) -> Comparison:
    """The group's candidates (those still there) side by side: their committed work against
    their base, their checks, where they would conflict with agents outside the group, how long
    they took and what they used."""
    from agentdeck.core.agents.roster import ready_records
    from agentdeck.core.git import worktrees as wt

    everyone = ready_records(ctx.state_dir)
    mine = [r for r in everyone if r.name in group.agents]
    stored = CheckStore(ctx.state_dir).load()
    radar = review.radar(ctx, [r for r in everyone if not r.host], uncommitted=True)
    out = []
    for rec in mine:
        cand = Candidate(rec.name, rec.agent, rec.branch, usage=(usage or {}).get(rec.name))
        _count_work(ctx, rec, cand)
        if Path(rec.worktree).is_dir():
            cand.uncommitted = len(wt.dirty_files(Path(rec.worktree), ctx))
        tip = branch_tip(ctx.common_dir, rec.branch)
        cand.checks = [r.as_json(tip) for _, r in sorted(stored.get(rec.name, {}).items())]
        for pair in radar.pairs:
            other = pair.b if pair.a == rec.name else pair.a if pair.b == rec.name else None
            if other is not None and other not in group.agents and pair.conflicts:
                cand.conflicts.append(f"{other}: {', '.join(pair.conflicts)}")
        out.append(cand)
    orders = [order for order in radar.merge_order()
              if set(order) & set(group.agents) and set(order) - set(group.agents)]
    return Comparison(out, orders)


def _count_work(ctx: RepoContext, rec: AgentRecord, cand: Candidate) -> None:
    base = review.base_of(ctx, rec)
    head = review.branch_ref(rec)
    merge_base = (ctx.git_try("merge-base", base, head) or "").strip()
    if not merge_base:
        return
    count = (ctx.git_try("rev-list", "--count", f"{merge_base}..{head}") or "0").strip()
    cand.commits = int(count) if count.isdigit() else 0
    for line in (ctx.git_try("diff", "--numstat", "--no-renames", merge_base, head)
                 or "").splitlines():
        added, removed, _path = [*line.split("\t", 2), "", ""][:3]
        cand.files += 1
        cand.added += int(added) if added.isdigit() else 0
        cand.removed += int(removed) if removed.isdigit() else 0
    if cand.commits and rec.created_at:
        last = (ctx.git_try("log", "-1", "--format=%ct", head) or "").strip()
        if last.isdigit():
            cand.seconds = max(0.0, int(last) - rec.created_at)


def siblings_of(ctx: RepoContext, name: str) -> tuple[Group, list[AgentRecord]]:
    """The group `name` is a candidate of, and its other candidates still there."""
    group = Groups(ctx.state_dir).of(name)
    if group is None:
        raise UsageError(f"{name} is not a candidate of a fanout (`agentdeck fanout BASE` makes "
                         "some; `agentdeck merge` merges any agent)")
    agents = Registry(ctx.state_dir).load().agents
    return group, [agents[n] for n in group.agents if n != name and n in agents]


def uncommitted_of(ctx: RepoContext, recs: Sequence[AgentRecord]) -> dict[str, list[str]]:
    """Each agent's uncommitted and untracked files (those that have some)."""
    from agentdeck.core.git import worktrees as wt

    out = {}
    for rec in recs:
        path = Path(rec.worktree)
        if not rec.in_main and path.is_dir():
            dirty = [d.strip() for d in wt.dirty_files(path, ctx)]
            if dirty:
                out[rec.name] = dirty
    return out


def refuse_losses(name: str, losses: Mapping[str, list[str]]) -> None:
    """`keep` without --force: a sibling with uncommitted work stops it, nothing changed."""
    from agentdeck.core.errors import OperationError

    said = "; ".join(f"{s} has {len(files)} uncommitted change(s) ({', '.join(files[:5])}"
                     + (f" and {len(files) - 5} more" if len(files) > 5 else "") + ")"
                     for s, files in losses.items())
    raise OperationError(f"refusing to keep {name}: removing its siblings would lose work: "
                         f"{said}; commit or stash it there, or pass --force to discard it")



def keep(ctx: RepoContext, fleet: Fleet, name: str, host: SessionHost | None,
         say: Callable[[str, str], None], *, force: bool = False, how: str = "merge",
         into: str | None = None, cleanup: bool = False) -> int:
    """Merge candidate `name` as `merge` does, then remove its siblings (stopped first when
    `host` runs them): worktree, branch (its tip said, so it can be brought back), port,
    database, fleet entry and check results. Refused, with nothing changed, while a sibling
    holds uncommitted work, unless `force` (then each file it discards is said first).
    `say(agent, line)` hears every step ("warning: …", "error: …" where it is one). Returns 1
    when a sibling could not be removed, else 0."""
    from agentdeck.core.engine.removal import retire
    from agentdeck.core.fleet.edits import forget_in_fleet
    from agentdeck.core.git import worktrees as wt

    rec = Registry(ctx.state_dir).load().agents.get(name)
    if rec is None:
        raise UsageError(f"no agent named {name} (agentdeck ls lists them)")
    group, siblings = siblings_of(ctx, name)
    losses = uncommitted_of(ctx, siblings)
    if losses and not force:
        refuse_losses(name, losses)  # (nothing merged, nothing removed)
    for sibling, files in losses.items():
        say(sibling, f"--force discards {len(files)} uncommitted change(s): "
            + ", ".join(files))
    for warning in review.merge_warnings(ctx, rec):
        say(name, f"warning: {warning}")
    done = review.merge(ctx, rec, into, how, ctx.state_dir)
    say(name, f"merged {done.branch} into {done.into} ({done.how}, {done.commit[:10]})")
    status = 0
    removed: list[str] = []
    store = CheckStore(ctx.state_dir)
    for sib in siblings:
        tip = (ctx.git_try("rev-parse", "--verify", "--quiet", f"refs/heads/{sib.branch}")
               or "").strip()
        try:
            out = retire(ctx, fleet, sib.name, host, force=force, drop_db=True)
            if tip and wt.branch_exists(ctx, sib.branch) and \
                    wt.worktree_of_branch(ctx, sib.branch) is None:
                # what keep was told to drop: the candidate's commits, said so they come back
                wt.delete_branch(ctx, sib.branch)
                out.done.append(f"deleted branch {sib.branch} (its tip was {tip[:10]}: "
                                f"`git branch {sib.branch} {tip}` brings it back)")
                out.left = [line for line in out.left if not line.startswith("branch ")]
        except AgentdeckError as exc:
            say(sib.name, f"error: not removed: {exc}")
            status = 1
            continue
        removed.append(sib.name)
        store.forget(sib.name)
        for line in (*out.done, *out.left, *forget_in_fleet(fleet, sib.name)):
            say(sib.name, line)
    if cleanup:
        try:
            out = retire(ctx, fleet, name, host, delete_branch=True, drop_db=True,
                         merged_into=done.into)
        except AgentdeckError as exc:
            say(name, f"warning: kept, but not cleaned up: {exc}")
        else:
            removed.append(name)
            store.forget(name)
            for line in (*out.done, *out.left, *forget_in_fleet(fleet, name)):
                say(name, line)
    Groups(ctx.state_dir).forget([*removed, name])
    say(group.base, f"kept {name}" + ("" if cleanup else f" (clean it up with: agentdeck rm "
                                      f"{name} --delete-branch --drop-db)"))
    return status
