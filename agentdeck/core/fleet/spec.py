"""The fleet file's records: what `schema.py` reads a fleet file into, and what the rest of
agentdeck is handed (the fleet, its agents' specs, approval rules, dashboard settings). The
sections for agents that run elsewhere and unattended have theirs in `options.py`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agentdeck.core.errors import ConfigError
from agentdeck.core.fleet.checkspec import CheckSpec, merged_checks
from agentdeck.core.fleet.kinds import BUILTIN_COMMANDS, BUILTIN_RESUME
from agentdeck.core.fleet.options import BudgetSpec, HostSpec, NotifySpec, SandboxSpec

DB_MODES = ("none", "postgres-db", "postgres-schema", "sqlite", "compose")
CHANNELS = ("pty", "acp")  # how an agent is driven (AgentSpec.channel)
# \Z, not $: `$` matches before a trailing newline too ("A\n" would split a line of .env)

@dataclass(frozen=True)
class PortsSpec:
    start: int = 3001
    end: int = 3999
    vars: tuple[str, ...] = ("PORT",)  # all set to the agent's one port
    extra: tuple[str, ...] = ()  # each gets a port of its own


@dataclass(frozen=True)
class DatabaseSpec:
    mode: str = "none"
    url: str | None = None  # postgres-*: the base database; compose: how to reach the service
    template: bool = False  # postgres-db: clone the base database
    path: str | None = None  # sqlite: file relative to the repository root
    file: str | None = None  # compose: the compose file relative to the repository root


@dataclass(frozen=True)
class AgentSpec:
    name: str
    branch: str
    role: str = "worker"
    agent: str = "claude"
    model: str | None = None
    # how agentdeck drives it: "pty" (its own TUI in a terminal) or "acp" (the Agent Client
    # Protocol over stdio: its conversation as data, its permission requests by id)
    channel: str = "pty"
    base: str | None = None
    task: str | None = None
    forbid: tuple[str, ...] = ()
    scope: tuple[str, ...] = ()  # where a worker may work: told to it, with forbid
    env: Mapping[str, str] = field(default_factory=dict)
    setup: tuple[str, ...] = ()
    env_copy: tuple[str, ...] = ()
    database: DatabaseSpec = DatabaseSpec()
    worktree: str | None = None  # path template override
    host: str | None = None  # a name under the fleet's `hosts`: it runs there; None: here
    sandbox: SandboxSpec = field(default_factory=SandboxSpec)
    budget: BudgetSpec = field(default_factory=BudgetSpec)
    checks: tuple[CheckSpec, ...] = ()  # its own, and its changes to the fleet's (by name)
    where: str = ""  # file:line of the entry, for messages
    # the inherited variables an agent sees: None, all of the user's environment (less what the
    # fleet names for other agents); a tuple, only these names or patterns (LC_*) and the basics
    env_passthrough: tuple[str, ...] | None = None
    # ${VAR}s by the key that uses them ("env.API_KEY", "database.url"): what the fleet hands
    # this agent from the user's environment, withheld from the others
    env_refs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # keys whose ${VAR} is not set: the message, raised only when this agent is made or started
    env_unset: Mapping[str, str] = field(default_factory=dict)

    @property
    def refs(self) -> frozenset[str]:
        return frozenset(name for names in self.env_refs.values() for name in names)

    @property
    def unset_message(self) -> str | None:
        """Why this agent cannot be made or started: the first ${VAR} it uses that is unset."""
        return next(iter(self.env_unset.values()), None)

    def check_env(self) -> None:
        """Raise the first unset-${VAR} problem: starting this agent needs every value."""
        if self.unset_message:
            raise ConfigError(f"agent {self.name}: {self.unset_message}")


@dataclass(frozen=True)
class ApprovalRule:
    """Answer matching prompts without asking: off unless the fleet file lists rules."""

    decision: str  # allow | deny
    kind: str  # bash | edit | write | fetch | mcp | other | any
    # bash: a regular expression each simple command must match whole; other kinds: one
    # searched in the prompt's summary (a path, a URL)
    match: str = ""
    agents: tuple[str, ...] = ()  # empty: every agent
    role: str | None = None  # lead | worker | None: both
    where: str = ""
    command: tuple[str, ...] = ()  # bash: the words each command starts with (`npm test`)
    compound: bool = False  # bash: chains, pipes, substitutions, redirections allowed

    def reaches(self, agent: str, role: str, kind: str) -> bool:
        """Whether the rule speaks for this agent and this kind of prompt at all."""
        if self.kind not in ("any", kind):
            return False
        if self.agents and agent not in self.agents:
            return False
        return not (self.role and role != self.role)


@dataclass(frozen=True)
class DashboardSpec:
    scrollback: int = 10_000  # lines kept per pane
    release_key: str = "ctrl+right_square_bracket"  # gives focus back from a pane
    theme: str | None = None
    bell: bool = True  # ring when an agent starts waiting
    desktop: bool = False  # a desktop notification (through the terminal) when a prompt appears
    keys: Mapping[str, str] = field(default_factory=dict)  # dashboard action id -> keys
    # the smallest terminal an agent gets (cols, rows): its PTY is the area its pane has when
    # zoomed, never below this, whatever the grid cell or a viewer's window
    agent_size: tuple[int, int] = (100, 30)


@dataclass(frozen=True)
class Fleet:
    path: Path | None
    base: str | None = None
    worktrees: str = "../{repo}-{name}"
    env_file: str = ".env.local"
    env_copy_max: int = 1 << 20  # bytes: an env_copy file larger than this is refused
    ports: PortsSpec = PortsSpec()
    stagger: float = 0.0
    setup_timeout: float = 900.0  # seconds one setup command may run before it is ended
    defaults: AgentSpec = AgentSpec(name="defaults", branch="")
    commands: Mapping[str, str] = field(default_factory=lambda: dict(BUILTIN_COMMANDS))
    # rate limits: send `rate_limit_message` to an agent when its limit resets (opt-in)
    rate_limit_resume: bool = False
    rate_limit_message: str = "continue"
    # role -> model for agents that name none (a cheaper model for workers, say)
    role_models: Mapping[str, str] = field(default_factory=dict)
    # agent kind -> the command that restarts an agent which ran before (e.g. claude --continue)
    resume: Mapping[str, str] = field(default_factory=lambda: dict(BUILTIN_RESUME))
    agents: tuple[AgentSpec, ...] = ()
    rules: tuple[ApprovalRule, ...] = ()
    # Claude Code / Codex PermissionRequest hooks that hand requests to the dashboard
    hooks: bool = True
    hook_timeout: float = 120.0  # seconds a hook waits before the agent asks on its own screen
    dashboard: DashboardSpec = DashboardSpec()
    hosts: Mapping[str, HostSpec] = field(default_factory=dict)
    notify: NotifySpec = field(default_factory=NotifySpec)
    budget: BudgetSpec = field(default_factory=BudgetSpec)  # the whole fleet's (each agent's:
    # its spec's `budget`)
    checks: tuple[CheckSpec, ...] = ()  # what judges each agent's work (core/engine/checks.py)

    def agent(self, name: str) -> AgentSpec | None:
        return next((a for a in self.agents if a.name == name), None)

    def checks_for(self, name: str) -> tuple[CheckSpec, ...]:
        """The checks that judge an agent's work: the fleet's, with its entry's changes."""
        spec = self.agent(name)
        return merged_checks(self.checks, spec.checks if spec is not None else ())

    def spec_for(self, name: str, branch: str, **overrides: Any) -> AgentSpec:
        """An agent made from the fleet defaults, as `agentdeck spawn` adds one."""
        values = {k: v for k, v in overrides.items() if v is not None}
        return replace(self.defaults, name=name, branch=branch, where="command line", **values)



def empty_fleet() -> Fleet:
    """The fleet used when no fleet file exists (e.g. a bare `agentdeck spawn`)."""
    return Fleet(path=None)
