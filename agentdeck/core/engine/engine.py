"""The orchestrator the CLI and UI call: up, spawn, list, reconcile.

Removal lives in `removal.py`; making one agent in `provision.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from agentdeck.core.engine.provision import (
    Notify,
    Plan,
    Provisioned,
    Provisioner,
    check_apart,
    make_plan,
    setup_env,
)
from agentdeck.core.engine.setup import SetupEvent, SetupJob, SetupResult, run_setups
from agentdeck.core.errors import AgentdeckError, ConfigError, UsageError
from agentdeck.core.fleet.registry import READY, Registry, RegistryData
from agentdeck.core.fleet.spec import AgentSpec, Fleet
from agentdeck.core.fleet.views import AgentView, reconcile, views
from agentdeck.core.git import worktrees as wt
from agentdeck.core.git.repo import RepoContext
from agentdeck.core.isolation.envpolicy import inherited

PARALLEL_CHECKOUTS = 4


@dataclass
class UpResult:
    made: list[Provisioned] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    failed: dict[str, AgentdeckError] = field(default_factory=dict)
    setups: list[SetupResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and all(r.ok for r in self.setups)

    @property
    def exit_code(self) -> int:
        if self.failed:
            return max(exc.exit_code for exc in self.failed.values())
        return 0 if self.ok else 1


class Engine:
    def __init__(self, ctx: RepoContext, fleet: Fleet, notify: Notify | None = None,
                 on_setup: Callable[[SetupEvent], None] | None = None) -> None:
        self.ctx = ctx
        self.fleet = fleet
        self.registry = Registry(ctx.state_dir)
        self.notify: Notify = notify or (lambda _agent, _msg: None)
        self.on_setup = on_setup

    # -- reconcile ----------------------------------------------------------------------------

    def reconcile(self) -> list[str]:
        """Bring the registry in line with reality; returns what the user should know."""
        return reconcile(self.registry)

    # -- up / spawn ---------------------------------------------------------------------------

    def up(self, only: Sequence[str] = ()) -> UpResult:
        specs = [a for a in self.fleet.agents if not only or a.name in only]
        unknown = set(only) - {a.name for a in self.fleet.agents}
        if unknown:
            raise UsageError(f"no agent named {', '.join(sorted(unknown))} in {self.fleet.path}")
        if not specs:
            raise UsageError(f"{self.fleet.path} has no agents; add some under 'agents:'")
        return self._bring_up(specs)

    def spawn(self, spec: AgentSpec, *more: AgentSpec) -> UpResult:
        """Make new agents (several at once, as `fanout` does: checkouts and setups in
        parallel); refused when one exists already."""
        agents = self.registry.load().agents
        for one in (spec, *more):
            existing = agents.get(one.name)
            if existing is not None and (existing.status == READY or existing.owner_alive()):
                raise UsageError(f"agent '{one.name}' already exists (branch {existing.branch}, "
                                 f"worktree {existing.worktree}); pick another name or remove "
                                 "it")
        return self._bring_up([spec, *more])

    def _bring_up(self, specs: Sequence[AgentSpec]) -> UpResult:
        result = UpResult()
        data = self.registry.load()
        checked_out = {w.branch: w for w in wt.list_worktrees(self.ctx) if w.branch}
        plans: list[Plan] = []
        for spec in specs:  # validate everything before making anything
            if spec.unset_message:  # a variable this agent needs is not set: the others go on
                result.failed[spec.name] = ConfigError(spec.unset_message)
                self.notify(spec.name, f"not created: {spec.unset_message}")
                continue
            existing = data.agents.get(spec.name)
            twin = next((n for n in data.agents
                         if n != spec.name and n.casefold() == spec.name.casefold()), None)
            if twin is not None:  # one worktree folder on a case-insensitive disk
                raise UsageError(f"agent '{spec.name}' and the existing agent '{twin}' differ "
                                 "only in case, which a case-insensitive disk does not tell "
                                 "apart; pick another name")
            if existing is not None and existing.status == READY:
                if existing.branch != spec.branch:
                    make_plan(self.ctx, self.fleet, spec, existing, checked_out)  # raises
                result.already.append(spec.name)
                continue
            plans.append(make_plan(self.ctx, self.fleet, spec, existing, checked_out))
        check_apart(plans, data.agents)
        provisioner = Provisioner(self.ctx, self.fleet, self.registry, self.notify)
        # Claims go in fleet order, so ports follow the order of the fleet file.
        claims: dict[str, Future[Provisioned]] = {}
        with ThreadPoolExecutor(max_workers=PARALLEL_CHECKOUTS,
                                thread_name_prefix="provision") as pool:
            for plan in plans:
                try:
                    claim = provisioner.reserve(plan)
                except AgentdeckError as exc:
                    result.failed[plan.spec.name] = exc
                    continue
                if claim is None:
                    result.already.append(plan.spec.name)
                    continue
                # Checkouts are disk-bound: several at once finish sooner (git locks each new
                # ref and worktree admin dir on its own; the registry lock guards our records).
                claims[plan.spec.name] = pool.submit(provisioner.provision, plan, *claim)
        for plan in plans:
            if plan.spec.name not in claims:
                continue
            try:
                made = claims[plan.spec.name].result()
            except AgentdeckError as exc:
                result.failed[plan.spec.name] = exc
                self.notify(plan.spec.name, f"failed, rolled back: {exc}")
                continue
            result.made.append(made)
            for note in made.notes:
                self.notify(plan.spec.name, note)
        result.setups = self._run_pending_setups(specs)
        return result

    def _run_pending_setups(self, specs: Sequence[AgentSpec]) -> list[SetupResult]:
        records = self.registry.load().agents
        jobs = []
        for spec in specs:
            rec = records.get(spec.name)
            if rec is None or rec.status != READY or rec.setup not in ("pending", "failed"):
                continue
            if not spec.setup:
                continue
            root = Path(rec.worktree)
            jobs.append(SetupJob(spec.name, root, spec.setup,
                                 setup_env(root, self.fleet.env_file),
                                 base=inherited(self.fleet, spec.name),
                                 timeout=self.fleet.setup_timeout))
        if not jobs:
            return []
        results = run_setups(jobs, self.on_setup)
        with self.registry.transaction() as data:
            for res in results:
                if res.name in data.agents:
                    data.agents[res.name].setup = "done" if res.ok else "failed"
        return results

    # -- ls -----------------------------------------------------------------------------------

    def views(self, live: Mapping[str, str] | None = None) -> list[AgentView]:
        return views(self.registry.load(), live)


def registry_snapshot(ctx: RepoContext) -> RegistryData:
    return Registry(ctx.state_dir).load()
