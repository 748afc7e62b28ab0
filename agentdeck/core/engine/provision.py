"""Make one agent's workspace: branch, worktree, env files, port, database — or nothing.

Each step is recorded in the registry before it happens (write-ahead) and pushes an undo action
after it succeeds; any failure runs the undo actions in reverse and drops the record, so a failed
agent leaves nothing behind. A record left in `creating` by a killed run is resumed: what that
run made is adopted, never made twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agentdeck.core.errors import AgentdeckError, OperationError, UsageError, require_extra
from agentdeck.core.files import stat_under
from agentdeck.core.fleet.dbnames import compose_project
from agentdeck.core.fleet.registry import (
    CREATING,
    READY,
    AgentRecord,
    DatabaseRecord,
    Registry,
    this_process,
)
from agentdeck.core.fleet.spec import AgentSpec, Fleet
from agentdeck.core.fleet.views import describe_database
from agentdeck.core.git import worktrees as wt
from agentdeck.core.git.repo import RepoContext
from agentdeck.core.isolation import databases, envfiles, ports

Notify = Callable[[str, str], None]  # (agent name, message)
WAIT_FOR_OTHER_RUN = 600.0


@dataclass
class Plan:
    """What was decided for an agent before anything is made (validated up front)."""

    spec: AgentSpec
    worktree: Path
    base: str
    in_main: bool = False
    branch_exists: bool = False


@dataclass
class Provisioned:
    record: AgentRecord
    notes: list[str] = field(default_factory=list)
    resumed: bool = False


def worktree_path(ctx: RepoContext, fleet: Fleet, spec: AgentSpec) -> Path:
    template = spec.worktree or fleet.worktrees
    rel = template.format(repo=ctx.name, name=spec.name, branch=spec.branch.replace("/", "-"))
    path = Path(rel).expanduser()
    if not path.is_absolute():
        path = ctx.main_root / path
    return Path(os.path.normpath(path))


def check_apart(plans: Sequence[Plan], records: Mapping[str, AgentRecord]) -> None:
    """Refuse, before anything is made, two agents whose worktrees are one folder or one inside
    the other (the fleet's, and those of agents already made)."""
    places = [(p.spec.name, p.worktree) for p in plans if not p.in_main] + [
        (r.name, Path(r.worktree)) for r in records.values()
        if not r.in_main and r.name not in {p.spec.name for p in plans}]
    for i, (name, path) in enumerate(places):
        for other, there in places[i + 1:]:
            if path == there or path in there.parents or there in path.parents:
                raise UsageError(f"agents {name} and {other} would share a worktree ({path} and "
                                 f"{there}); give each its own with 'worktree:' or 'worktrees:'")


def make_plan(ctx: RepoContext, fleet: Fleet, spec: AgentSpec, existing: AgentRecord | None,
              checked_out: dict[str, wt.Worktree]) -> Plan:
    """Every check that can fail before anything is created."""
    if spec.database.mode in ("postgres-db", "postgres-schema"):  # an optional extra
        require_extra("postgres", f"agent {spec.name}'s database ({spec.database.mode})")
    wt.check_branch_name(ctx, spec.branch)
    if existing is not None and existing.branch != spec.branch:
        raise UsageError(f"agent '{spec.name}' already exists on branch '{existing.branch}' "
                         f"(worktree {existing.worktree}); remove it first (agentdeck rm "
                         f"{spec.name}) or give the new one another name")
    main_branch = next((w.branch for w in checked_out.values() if w.path == ctx.main_root), None)
    in_main = spec.role == "lead" and spec.branch == main_branch
    path = ctx.main_root if in_main else worktree_path(ctx, fleet, spec)
    git_dirs = (ctx.common_dir, ctx.main_root / ".git")
    if not in_main and any(path == d or d in path.parents for d in git_dirs):
        raise UsageError(f"agent {spec.name}'s worktree {path} would be inside git's own folder; "
                         "change 'worktrees:' (or its 'worktree:') in the fleet file")
    if not in_main and (path == ctx.main_root or path in ctx.main_root.parents):
        raise UsageError(f"agent {spec.name}'s worktree {path} would hold the main checkout; "
                         "change 'worktrees:' (or its 'worktree:') in the fleet file")
    base = spec.base or fleet.base or wt.default_base(ctx)
    branch_exists = wt.branch_exists(ctx, spec.branch)
    holder = checked_out.get(spec.branch)
    ours = existing is not None and os.path.realpath(existing.worktree) == os.path.realpath(
        holder.path) if holder else False
    if holder is not None and not in_main and not ours:
        raise UsageError(
            f"branch '{spec.branch}' (agent {spec.name}, {spec.where}) is already checked out in "
            f"{holder.path}; a branch can be in one worktree only — use a new branch such as "
            f"'{wt.suggest_branch(ctx, spec.branch)}'")
    if not branch_exists and wt.resolve_commit(ctx, base) is None:
        raise UsageError(f"base ref '{base}' for agent {spec.name} ({spec.where}) does not exist; "
                         "fetch it (git fetch origin) or set base: to an existing branch or commit")
    if not in_main and path.exists() and not ours and any(path.iterdir()):
        registered = wt.worktree_at(ctx, path)
        resuming = (existing is not None and existing.status == CREATING
                    and os.path.realpath(existing.worktree) == os.path.realpath(path))
        if registered is None or (registered.branch != spec.branch and not resuming):
            hint = " (an interrupted run may have left it)" if resuming else ""
            raise UsageError(f"{path} already exists and is not agent {spec.name}'s worktree"
                             f"{hint}; move it away or change 'worktrees:' in the fleet file")
    return Plan(spec, path, base, in_main, branch_exists)


class Provisioner:
    def __init__(self, ctx: RepoContext, fleet: Fleet, registry: Registry, notify: Notify) -> None:
        self.ctx = ctx
        self.fleet = fleet
        self.registry = registry
        self.notify = notify
        self.me = this_process()
        self.started = time.time()  # a lock file older than this run is not this run's

    # -- reservation --------------------------------------------------------------------------

    def reserve(self, plan: Plan) -> tuple[AgentRecord, bool] | None:
        """Claim the agent in the registry. None when it is already made. Waits while another
        live run is making it."""
        deadline = time.monotonic() + WAIT_FOR_OTHER_RUN
        announced = False
        while True:
            with self.registry.transaction() as data:
                rec = data.agents.get(plan.spec.name)
                if rec is not None and rec.status == READY:
                    return None
                if rec is None or not rec.owner_alive() or rec.owner_pid == self.me[0]:
                    resumed = rec is not None
                    if rec is None:
                        rec = self._new_record(plan, data.taken_ports(), data.free_slot())
                    else:
                        self._refresh_ports(rec, data.taken_ports(except_agent=rec.name))
                    rec.owner_pid, rec.owner_started = self.me
                    data.agents[rec.name] = rec
                    return rec, resumed
                owner = rec.owner_pid
            if time.monotonic() > deadline:
                raise OperationError(f"agent {plan.spec.name} is still being created by another "
                                     f"agentdeck (pid {owner}); try again when it has finished")
            if not announced:
                self.notify(plan.spec.name, f"waiting: another agentdeck (pid {owner}) is "
                                            "creating it")
                announced = True
            time.sleep(0.2)

    def _new_record(self, plan: Plan, taken: set[int], slot: int) -> AgentRecord:
        spec, port_spec = plan.spec, self.fleet.ports
        numbers = ports.allocate(1 + len(port_spec.extra), port_spec.start, port_spec.end, taken)
        assigned = {var: numbers[0] for var in port_spec.vars}
        assigned.update(zip(port_spec.extra, numbers[1:], strict=True))
        return AgentRecord(
            name=spec.name, agent=spec.agent, role=spec.role, branch=spec.branch, base=plan.base,
            worktree=str(plan.worktree), in_main=plan.in_main, ports=assigned, slot=slot,
            status=CREATING, model=spec.model, task=spec.task, channel=spec.channel,
            forbid=list(spec.forbid),
            fleet_file=str(self.fleet.path) if self.fleet.path else None, created_at=time.time())

    def _refresh_ports(self, rec: AgentRecord, taken: set[int]) -> None:
        """A resumed record keeps its ports unless another program has taken one since."""
        for var, port in list(rec.ports.items()):
            if port in taken or not ports.can_bind(port):
                new = ports.allocate(1, self.fleet.ports.start, self.fleet.ports.end,
                                     taken | set(rec.ports.values()))[0]
                rec.ports = {k: (new if v == port else v) for k, v in rec.ports.items()}
                self.notify(rec.name, f"port {port} ({var}) is now in use: moved to {new}")

    def _save(self, rec: AgentRecord) -> None:
        with self.registry.transaction() as data:
            data.agents[rec.name] = rec

    def _forget(self, name: str) -> None:
        with self.registry.transaction() as data:
            data.agents.pop(name, None)

    # -- creation -----------------------------------------------------------------------------

    def provision(self, plan: Plan, rec: AgentRecord, resumed: bool) -> Provisioned:
        """Make what `reserve` claimed; on any failure undo it all and drop the claim."""
        undo: list[tuple[str, Callable[[], None]]] = []
        notes: list[str] = []
        try:
            self._worktree(plan, rec, resumed, undo)
            notes += self._environment(plan, rec, resumed, undo)
            rec.status = READY
            rec.owner_pid, rec.owner_started = 0, 0.0
            rec.setup = "pending" if plan.spec.setup else "none"
            self._save(rec)
        except BaseException as exc:
            failures = self._rollback(undo)
            self._forget(rec.name)
            if failures and isinstance(exc, AgentdeckError):
                raise type(exc)(f"{exc} (and rollback left: {'; '.join(failures)})") from None
            raise
        return Provisioned(rec, notes, resumed)

    def _worktree(self, plan: Plan, rec: AgentRecord, resumed: bool,
                  undo: list[tuple[str, Callable[[], None]]]) -> None:
        if plan.in_main:
            return
        path = Path(rec.worktree)
        # a git killed with its run can leave the branch's ref lock behind
        if resumed and wt.clear_stale_ref_lock(self.ctx, rec.branch, older_than=self.started):
            self.notify(rec.name, f"removed the lock on {rec.branch} a killed run left")
        if resumed and wt.worktree_at(self.ctx, path) is not None:
            # Made by a run that was killed, maybe mid-checkout. Nobody has used it (the record
            # never became ready), so check it out again rather than trust a partial tree.
            wt.discard_unfinished(self.ctx, path)
            self.notify(rec.name, f"redoing the worktree an interrupted run left at {path}")
        branch_is_new = not wt.branch_exists(self.ctx, rec.branch)
        if branch_is_new or (resumed and rec.branch_created):
            rec.branch_created = True
        if rec.branch_created:  # before the add: a failed `worktree add -b` may have made it
            undo.append((f"branch {rec.branch}", lambda: self._drop_fresh_branch(rec)))
        if branch_is_new:
            rec.base_commit = wt.resolve_commit(self.ctx, plan.base) or ""
            self._save(rec)  # write-ahead: the branch is ours from here on
            wt.add_worktree(self.ctx, path, rec.branch, plan.base)
            self.notify(rec.name, f"branch {rec.branch} from {plan.base}, worktree {path}")
        else:
            self._save(rec)
            wt.add_worktree(self.ctx, path, rec.branch, None)
            self.notify(rec.name, f"existing branch {rec.branch}, worktree {path}")
        undo.append((f"worktree {path}", lambda: wt.remove_worktree(self.ctx, path, force=True)))

    def _drop_fresh_branch(self, rec: AgentRecord) -> None:
        tip = wt.resolve_commit(self.ctx, f"refs/heads/{rec.branch}")
        if tip and (not rec.base_commit or tip == rec.base_commit):
            wt.delete_branch(self.ctx, rec.branch)

    def _environment(self, plan: Plan, rec: AgentRecord, resumed: bool,
                     undo: list[tuple[str, Callable[[], None]]]) -> list[str]:
        spec, root = plan.spec, Path(rec.worktree)
        notes = []
        written: list[str] = [self.fleet.env_file]
        if not plan.in_main:
            for copy in envfiles.copy_untracked(self.ctx.main_root, root, spec.env_copy,
                                                self.fleet.env_copy_max):
                if copy.outcome == "copied":
                    written.append(copy.name)
                elif copy.outcome == "missing":
                    notes.append(f"{copy.name} is not in the main worktree: not copied")
        db_plan = databases.plan(spec.database, repo_name=self.ctx.name, agent=spec.name,
                                 worktree=root, slot=rec.slot, in_main=plan.in_main)
        written += db_plan.ignore
        for rel in (self.fleet.env_file, *db_plan.ignore):
            # before anything is written (the shared info/exclude included): a link on the way
            # to a file agentdeck writes here is refused, whoever put it there
            stat_under(root, rel, "write", "remove the link (from the branch, if it is "
                       "committed) or choose another path in the fleet file")
        with self.registry.transaction():  # serialises writers of the shared info/exclude
            envfiles.ensure_ignored(self.ctx, root, written)
        values = self.env_values(rec, db_plan.env, spec)
        envfiles.write_managed_block(root / self.fleet.env_file, values, root)
        if db_plan.record is not None:
            self._refuse_shared(rec.name, db_plan.record)
            adopt = resumed and rec.database is not None and rec.database.created
            db_plan.record.created = db_plan.owned
            rec.database = db_plan.record
            self._save(rec)  # write-ahead: a rerun after a crash adopts this database
            notes += databases.create(db_plan, spec.database, main_root=self.ctx.main_root,
                                      worktree=root, adopt=adopt)
            record = db_plan.record
            if db_plan.owned:
                undo.append((describe_database(record), lambda: self.notify(
                    rec.name, databases.drop(record, db_plan.url, root))))
        return notes

    def _refuse_shared(self, name: str, record: DatabaseRecord) -> None:
        """Never adopt a database or schema the registry records for another agent (after a
        crash, one agent would take over — and `rm --drop-db` drop — the other's data)."""
        if record.mode == "sqlite":
            return  # a file in each agent's own worktree
        for other in self.registry.load().agents.values():
            theirs = other.database
            if other.name != name and theirs is not None and (
                    theirs.mode, theirs.name, theirs.host) == (record.mode, record.name,
                                                                record.host):
                raise OperationError(f"{name}: the {record.mode} '{record.name}' belongs to agent "
                                     f"{other.name}; agentdeck never gives two agents one "
                                     "database — rename one of them")

    def env_values(self, rec: AgentRecord, db_env: dict[str, str],
                   spec: AgentSpec) -> dict[str, str]:
        values = {var: str(port) for var, port in rec.ports.items()}
        values.update(db_env)
        values.setdefault("COMPOSE_PROJECT_NAME", compose_project(self.ctx.name, rec.name))
        values["AGENTDECK_AGENT"] = rec.name
        values["AGENTDECK_BRANCH"] = rec.branch
        values.update(spec.env)  # the agent's own env wins: the user wrote it on purpose
        return values

    def _rollback(self, undo: list[tuple[str, Callable[[], None]]]) -> list[str]:
        failures = []
        for what, action in reversed(undo):
            try:
                action()
            except Exception as exc:  # keep undoing the rest; report what is left
                failures.append(f"{what}: {exc}")
        return failures


def setup_env(root: Path, env_file: str) -> dict[str, str]:
    """The environment install commands see: .env, then .env.local (managed block included)."""
    return {**envfiles.read_env(root / ".env", root), **envfiles.read_env(root / env_file, root)}
