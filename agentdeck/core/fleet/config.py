"""The fleet file (YAML) as typed objects.

Strict: unknown keys are rejected with a did-you-mean, every error names file:line:col and the
key. `sample_fleet.yaml` documents every key accepted here.
"""

from __future__ import annotations

import difflib
import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from agentdeck.core.errors import AgentdeckError, ConfigError
from agentdeck.core.fleet.options import (
    ALERT_EVENTS,
    BudgetSpec,
    HostSpec,
    NotifySpec,
    SandboxSpec,
    read_branch,
    read_budget,
    read_host_name,
    read_hosts,
    read_notify,
    read_release_key,
    read_sandbox,
    read_theme,
)
from agentdeck.core.names import NAME_RE, ROLES, reserved_variable
from agentdeck.core.screen.detect.base import KINDS as PROMPT_KINDS
from agentdeck.core.yamlmarks import KeyPath, LocatedDocument, load_located

__all__ = ["ALERT_EVENTS", "BudgetSpec", "HostSpec", "NotifySpec", "SandboxSpec"]

DEFAULT_FLEET_NAMES = ("agentdeck.yaml", "agentdeck.yml")
DB_MODES = ("none", "postgres-db", "postgres-schema", "sqlite", "compose")
BUILTIN_COMMANDS: dict[str, str] = {
    # ask before every tool (Claude Code's auto mode would answer most prompts itself); the
    # brief (task, scope, roster) as an appended system prompt, the task as the first message
    "claude": "claude --permission-mode default --model {model} --append-system-prompt {brief} "
              "{task}",
    "codex": "codex --model {model} {prompt}",
    # the brief as a read-only file; the task is typed as the first message once it is ready
    "aider": "aider --model {model} --read {brief_file}",
    "gemini": "gemini -m {model} -i {prompt}",
    # brief and task as the first message, submitted by the CLI itself once it is ready;
    # opencode runs commands and edits without asking unless told to ask (Kilo asks)
    "opencode": """env 'OPENCODE_PERMISSION={{"bash":"ask","edit":"ask"}}' """
                "opencode --model {model} --prompt {prompt}",
    "kilo": "kilo --model {model} --prompt {prompt}",
    # ask before every change (their default modes have a model decide what to allow)
    "qwen": "qwen --approval-mode default --model {model} -i {prompt}",
    "copilot": "copilot --model {model} -i {prompt}",
    # no first-message flag: the task is typed once its input box is up
    "crush": "crush",
    "shell": "bash",
}
# \Z, not $: `$` matches before a trailing newline too ("A\n" would split a line of .env)
ENV_NAME_RE = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")
_ENV_REF_RE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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
    notify_command: str | None = None  # run with AGENTDECK_AGENT / _SUMMARY when a prompt appears
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
    resume: Mapping[str, str] = field(default_factory=dict)
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

    def agent(self, name: str) -> AgentSpec | None:
        return next((a for a in self.agents if a.name == name), None)

    def spec_for(self, name: str, branch: str, **overrides: Any) -> AgentSpec:
        """An agent made from the fleet defaults, as `agentdeck spawn` adds one."""
        values = {k: v for k, v in overrides.items() if v is not None}
        return replace(self.defaults, name=name, branch=branch, where="command line", **values)


def find_fleet_file(start: Path, explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    for name in DEFAULT_FLEET_NAMES:
        if (start / name).is_file():
            return start / name
    return None


def load_fleet(path: Path, environ: Mapping[str, str] | None = None) -> Fleet:
    doc = load_located(path)
    return _FleetReader(doc, os.environ if environ is None else environ).fleet()


def empty_fleet() -> Fleet:
    """The fleet used when no fleet file exists (e.g. a bare `agentdeck spawn`)."""
    return Fleet(path=None)


class _FleetReader:
    def __init__(self, doc: LocatedDocument, environ: Mapping[str, str]) -> None:
        self.doc = doc
        self.environ = environ
        self.hosts: Mapping[str, HostSpec] = {}

    # -- primitives ---------------------------------------------------------------------------

    def fail(self, path: KeyPath, message: str, value: bool = False) -> NoReturn:
        raise ConfigError(f"{self.doc.where(path, value)}: {message}")

    def bad_value(self, path: KeyPath, message: str) -> NoReturn:
        self.fail(path, message, value=True)

    def key_name(self, path: KeyPath) -> str:
        parts: list[str] = []
        for part in path:
            parts.append(f"[{part}]" if isinstance(part, int) else ("." if parts else "") + part)
        return "".join(parts) or "(top level)"

    def mapping(self, value: Any, path: KeyPath, allowed: tuple[str, ...]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.bad_value(path, f"'{self.key_name(path)}' must be a mapping, got {_kind(value)}")
        for key in value:
            if not isinstance(key, str) or key not in allowed:
                hint = difflib.get_close_matches(str(key), allowed, n=1)
                where = self.key_name((*path, key)) if isinstance(key, str) else repr(key)
                known = f" (known: {', '.join(allowed)})"
                suffix = f"; did you mean '{hint[0]}'?" if hint else known
                self.fail((*path, key), f"unknown key '{where}'{suffix}")
        return value

    def string(self, value: Any, path: KeyPath, *, choices: tuple[str, ...] = ()) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            self.bad_value(path, f"'{self.key_name(path)}' must be a string, got {_kind(value)}")
        text = str(value)
        if choices and text not in choices:
            hint = difflib.get_close_matches(text, choices, n=1)
            extra = f"; did you mean '{hint[0]}'?" if hint else ""
            self.bad_value(path, f"'{self.key_name(path)}' must be one of {', '.join(choices)}, "
                            f"got '{text}'{extra}")
        return text

    def integer(self, value: Any, path: KeyPath, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.bad_value(path, f"'{self.key_name(path)}' must be an integer, got {_kind(value)}")
        if not low <= value <= high:
            self.bad_value(path, f"'{self.key_name(path)}' must be between {low} and {high}, "
                                 f"got {value}")
        return value

    def boolean(self, value: Any, path: KeyPath) -> bool:
        if not isinstance(value, bool):
            self.bad_value(path, f"'{self.key_name(path)}' must be true or false, "
                                 f"got {_kind(value)}")
        return value

    def strings(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list):
            self.bad_value(path, f"'{self.key_name(path)}' must be a list of strings, got "
                                 f"{_kind(value)}")
        return tuple(self.string(item, (*path, i)) for i, item in enumerate(value))

    def env_names(self, value: Any, path: KeyPath) -> tuple[str, ...]:
        names = self.strings(value, path)
        for i, name in enumerate(names):
            if not ENV_NAME_RE.match(name):
                self.fail((*path, i), f"'{name}' is not a valid environment variable name")
        return names

    def expand(self, text: str, path: KeyPath, uses: _EnvUses) -> str:
        """${VAR} and ${VAR:-default} from the user's environment; $$ is a literal $. The names
        go to `uses`, and an unset one is recorded there instead of failing: only the commands
        that make or start that agent need its value (`ls`, `diff`, `daemon status` do not)."""
        names: list[str] = []
        unset: list[str] = []

        def sub(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            name, default = match.group(1), match.group(2)
            names.append(name)
            if name in self.environ and self.environ[name] != "":
                return self.environ[name]
            if default is not None:
                return default
            unset.append(name)
            return ""

        value = _ENV_REF_RE.sub(sub, text)
        key = ".".join(str(p) for p in path[-2:])  # env.API_KEY, database.url
        if unset:
            uses.unset[key] = (f"'{self.key_name(path)}' ({self.doc.where(path, True)}) uses "
                               f"${{{unset[0]}}}, which is not set in your environment; export "
                               f"it or write ${{{unset[0]}:-default}}")
        else:
            uses.unset.pop(key, None)  # an agent's own value replaces the defaults' one
        uses.refs[key] = tuple(names)
        return value

    # -- sections -----------------------------------------------------------------------------

    def fleet(self) -> Fleet:
        top = self.mapping(self.doc.data, (), _TOP_KEYS)
        if self.doc.data is None:
            self.fail((), "the fleet file is empty; see sample_fleet.yaml")
        if "version" in top:
            version = self.integer(top["version"], ("version",), 1, 99)
            if version != 1:
                self.fail(("version",), f"fleet file version {version} is not supported (use 1)")
        fleet = Fleet(path=self.doc.file)
        changes: dict[str, Any] = {}
        if "base" in top:
            changes["base"] = self.string(top["base"], ("base",))
        if "worktrees" in top:
            template = self.string(top["worktrees"], ("worktrees",))
            self.check_template(template, ("worktrees",))
            changes["worktrees"] = template
        commands = dict(BUILTIN_COMMANDS)
        for kind, command in self.mapping_any(top.get("commands"), ("commands",)).items():
            commands[kind] = self.string(command, ("commands", kind))
            if not NAME_RE.match(kind):
                self.fail(("commands", kind), f"'{kind}' is not a valid agent kind name")
        changes["commands"] = commands
        changes["resume"] = {kind: self.string(command, ("resume", kind)) for kind, command
                             in self.mapping_any(top.get("resume"), ("resume",)).items()}
        changes["hosts"] = read_hosts(self, top.get("hosts"))
        raw_defaults = self.mapping(top.get("defaults"), ("defaults",), _DEFAULT_KEYS)
        if "ports" in raw_defaults:
            changes["ports"] = self.ports(raw_defaults["ports"], ("defaults", "ports"))
        if "models" in raw_defaults:
            models = self.mapping_any(raw_defaults["models"], ("defaults", "models"))
            for role in models:
                if role not in ROLES:
                    self.fail(("defaults", "models", role), f"'{role}' is not a role "
                              f"({' or '.join(ROLES)})")
            changes["role_models"] = {role: self.string(m, ("defaults", "models", role))
                                      for role, m in models.items()}
        if "stagger" in raw_defaults:
            changes["stagger"] = self.duration(raw_defaults["stagger"], ("defaults", "stagger"))
        if "setup_timeout" in raw_defaults:
            changes["setup_timeout"] = self.duration(
                raw_defaults["setup_timeout"], ("defaults", "setup_timeout"), most=86_400)
            if changes["setup_timeout"] <= 0:
                self.fail(("defaults", "setup_timeout"), "'setup_timeout' must be more than 0")
        if "env_file" in raw_defaults:
            changes["env_file"] = self.relpath(raw_defaults["env_file"], ("defaults", "env_file"))
        if "env_copy_max" in raw_defaults:
            changes["env_copy_max"] = _size(self, raw_defaults["env_copy_max"],
                                            ("defaults", "env_copy_max"))
        defaults = self.agent_fields(raw_defaults, ("defaults",), AgentSpec("defaults", ""),
                                     commands)
        changes["defaults"] = defaults
        agents = []
        raw_agents = top.get("agents")
        if raw_agents is not None and not isinstance(raw_agents, list):
            self.bad_value(("agents",), f"'agents' must be a list, got {_kind(raw_agents)}")
        for index, raw in enumerate(raw_agents or []):
            agents.append(self.agent((index,), raw, defaults, commands))
        self.check_unique(agents)
        changes["agents"] = tuple(agents)
        raw_approvals = self.mapping(top.get("approvals"), ("approvals",),
                                     ("rules", "hooks", "hook_timeout"))
        if "hooks" in raw_approvals:
            changes["hooks"] = self.boolean(raw_approvals["hooks"], ("approvals", "hooks"))
        if "hook_timeout" in raw_approvals:
            changes["hook_timeout"] = float(self.integer(
                raw_approvals["hook_timeout"], ("approvals", "hook_timeout"), 1, 86_400))
        rules = raw_approvals.get("rules") or []
        if not isinstance(rules, list):
            self.bad_value(("approvals", "rules"), "'rules' must be a list")
        changes["rules"] = tuple(self.rule(raw, ("approvals", "rules", i))
                                 for i, raw in enumerate(rules))
        if "dashboard" in top:
            changes["dashboard"] = self.dashboard(top["dashboard"], ("dashboard",))
        if "notify" in top:
            changes["notify"] = read_notify(self, top["notify"], ("notify",))
        if "budget" in top:
            changes["budget"] = read_budget(self, top["budget"], ("budget",))
        limits = self.mapping(top.get("rate_limits"), ("rate_limits",), ("resume", "message"))
        if "resume" in limits:
            changes["rate_limit_resume"] = self.boolean(limits["resume"],
                                                        ("rate_limits", "resume"))
        if "message" in limits:
            changes["rate_limit_message"] = self.string(limits["message"],
                                                        ("rate_limits", "message"))
        return replace(fleet, **changes)

    def rule(self, raw: Any, path: KeyPath) -> ApprovalRule:
        data = self.mapping(raw, path, ("allow", "deny", "match", "command", "compound",
                                        "agents", "role"))
        decisions = [d for d in ("allow", "deny") if d in data]
        if len(decisions) != 1:
            self.fail(path, "a rule needs exactly one of 'allow: <kind>' or 'deny: <kind>'")
        decision = decisions[0]
        kind = self.string(data[decision], (*path, decision), choices=(*PROMPT_KINDS, "any"))
        match = self.string(data["match"], (*path, "match")) if "match" in data else ""
        try:
            re.compile(match)
        except re.error as exc:
            self.bad_value((*path, "match"), f"'match' is not a valid regular expression: {exc}")
        agents = self.strings(data["agents"], (*path, "agents")) if "agents" in data else ()
        role = self.string(data["role"], (*path, "role"), choices=ROLES) if "role" in data else None
        for key in ("command", "compound"):
            if key in data and kind not in ("bash", "any"):
                self.fail((*path, key), f"'{key}' is for bash rules (allow: bash or deny: bash)")
        command: tuple[str, ...] = ()
        if "command" in data:
            command = tuple(self.string(data["command"], (*path, "command")).split())
            plain = re.compile(r"[A-Za-z0-9_./:=@%+,~-]+")
            if not command or not all(plain.fullmatch(word) for word in command):
                self.bad_value((*path, "command"), "'command' is the words a command starts "
                               "with, e.g. 'npm test' (no quotes, operators, variables or "
                               "patterns: it already allows any further arguments)")
        compound = "compound" in data and self.boolean(data["compound"], (*path, "compound"))
        return ApprovalRule(decision, kind, match, agents, role, where=self.doc.where(path, False),
                            command=command, compound=compound)

    def dashboard(self, raw: Any, path: KeyPath) -> DashboardSpec:
        data = self.mapping(raw, path, ("scrollback", "release_key", "theme", "bell", "notify",
                                        "desktop", "keys", "agent_size"))
        changes: dict[str, Any] = {}
        if "scrollback" in data:
            changes["scrollback"] = self.integer(data["scrollback"], (*path, "scrollback"),
                                                 100, 1_000_000)
        if "release_key" in data:
            changes["release_key"] = read_release_key(self, data["release_key"],
                                                      (*path, "release_key"))
        if "theme" in data:
            changes["theme"] = read_theme(self, data["theme"], (*path, "theme"))
        if "bell" in data:
            changes["bell"] = self.boolean(data["bell"], (*path, "bell"))
        if "notify" in data:
            changes["notify_command"] = self.string(data["notify"], (*path, "notify"))
        if "desktop" in data:
            changes["desktop"] = self.boolean(data["desktop"], (*path, "desktop"))
        if "agent_size" in data:
            text = self.string(data["agent_size"], (*path, "agent_size"))
            m = re.fullmatch(r"\s*(\d{2,3})\s*x\s*(\d{1,3})\s*", text)
            if not m or not (40 <= int(m.group(1)) <= 500 and 10 <= int(m.group(2)) <= 200):
                self.fail((*path, "agent_size"), f"'{text}' is not a terminal size like 100x30 "
                          "(columns 40-500 x rows 10-200)", value=True)
            changes["agent_size"] = (int(m.group(1)), int(m.group(2)))
        if "keys" in data:
            keys = self.mapping_any(data["keys"], (*path, "keys"))
            changes["keys"] = {str(k): self.string(v, (*path, "keys", k))
                               for k, v in keys.items()}
        return DashboardSpec(**changes)

    def mapping_any(self, value: Any, path: KeyPath) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.bad_value(path, f"'{self.key_name(path)}' must be a mapping, got {_kind(value)}")
        return value

    def check_template(self, template: str, path: KeyPath, per_agent: bool = False) -> None:
        """Only {repo}, {name} and {branch}; a template for every agent must tell them apart
        (`per_agent`: one agent's own `worktree:`, which need not)."""
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        except ValueError as exc:
            self.fail(path, f"'{template}' is not a valid template ({exc})")
        if not template.isprintable():  # a folder named "app-a1\n" is nobody's intent
            self.fail(path, f"'{template}' has a control character (a newline?)")
        unknown = [f for f in fields if f not in ("repo", "name", "branch")]
        if unknown:
            self.fail(path, f"'{template}' uses {{{unknown[0]}}}; a template may only use "
                            "{repo}, {name} and {branch}")
        if not per_agent and "{name}" not in template and "{branch}" not in template:
            self.fail(path, f"'{template}' must contain {{name}} or {{branch}} so agents differ")

    def relpath(self, value: Any, path: KeyPath) -> str:
        text = self.string(value, path)
        # (a control character: a file name no one means, and a split line in info/exclude)
        if os.path.isabs(text) or ".." in Path(text).parts or not text.isprintable() or not text:
            self.fail(path, f"'{text}' must be a path inside the repository")
        if ".git" in (part.casefold() for part in Path(text).parts):  # .GIT is .git on macOS
            self.fail(path, f"'{text}' is inside .git, which is git's own; pick a path in the "
                            "working tree")
        return text

    def duration(self, value: Any, path: KeyPath, most: float = 3600) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            seconds = float(value)
        else:
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*", str(value))
            if not match:
                self.bad_value(path, f"'{self.key_name(path)}' must be a duration like 5s, "
                                     f"500ms, 1m or 1h, got '{value}'")
            unit = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}[match.group(2)]
            seconds = float(match.group(1)) * unit
        if not 0 <= seconds <= most:  # (a NaN fails this too)
            self.fail(path, f"'{self.key_name(path)}' must be between 0 and {most / 3600:g}h")
        return seconds

    def ports(self, value: Any, path: KeyPath) -> PortsSpec:
        raw = self.mapping(value, path, ("start", "end", "vars", "extra"))
        start = self.integer(raw.get("start", 3001), (*path, "start"), 1024, 65535)
        end = self.integer(raw.get("end", min(start + 998, 65535)), (*path, "end"), start, 65535)
        names = self.env_names(raw.get("vars", ["PORT"]), (*path, "vars"))
        extra = self.env_names(raw.get("extra", []), (*path, "extra"))
        if not names:
            self.fail((*path, "vars"), "'ports.vars' needs at least one variable name, e.g. [PORT]")
        if dup := set(names) & set(extra):
            self.fail((*path, "extra"), f"{', '.join(sorted(dup))} is in both vars and extra")
        for key, listed in (("vars", names), ("extra", extra)):
            for i, name in enumerate(listed):
                if reserved_variable(name):
                    self.fail((*path, key, i), f"'{name}' is a variable programs or agentdeck "
                              "rely on (PATH, LD_*, HOME, DATABASE_URL, …); a port goes in one "
                              "of its own, e.g. PORT or VITE_PORT")
        return PortsSpec(start, end, names, extra)

    def database(self, value: Any, path: KeyPath, inherited: DatabaseSpec,
                 uses: _EnvUses) -> DatabaseSpec:
        if isinstance(value, str):
            value = {"mode": value}
        raw = self.mapping(value, path, ("mode", "url", "template", "path", "file"))
        mode = self.string(raw.get("mode", inherited.mode), (*path, "mode"), choices=DB_MODES)
        spec = DatabaseSpec(
            mode=mode,
            url=self.expand(self.string(raw["url"], (*path, "url")), (*path, "url"), uses)
            if "url" in raw else inherited.url,
            template=self.boolean(raw["template"], (*path, "template"))
            if "template" in raw else inherited.template,
            path=self.relpath(raw["path"], (*path, "path")) if "path" in raw else inherited.path,
            file=self.relpath(raw["file"], (*path, "file")) if "file" in raw else inherited.file,
        )
        if mode.startswith("postgres") and "database.url" not in uses.unset:
            if not spec.url:
                self.fail(path, f"database mode {mode} needs 'url', e.g. postgres://localhost/myapp")
            if not re.match(r"^postgres(ql)?://", spec.url):
                self.fail((*path, "url"), f"'{spec.url}' is not a postgres:// URL")
            try:
                parts = urlsplit(spec.url)
                _ = parts.port  # a port that is no number raises here, not later in libpq
            except ValueError as exc:
                self.fail((*path, "url"), f"'{spec.url}' is not a postgres:// URL ({exc})")
            if not parts.path.strip("/") or not spec.url.isprintable() or " " in spec.url:
                self.fail((*path, "url"), f"'{spec.url}' must name a database on one line, "
                          "e.g. postgres://localhost/myapp")
        if mode == "sqlite" and not spec.path:
            self.fail(path, "database mode sqlite needs 'path', the database file in the "
                            "repository")
        return spec

    def agent_fields(
        self, raw: dict[str, Any], path: KeyPath, base: AgentSpec, commands: Mapping[str, str]
    ) -> AgentSpec:
        changes: dict[str, Any] = {}
        uses = _EnvUses(dict(base.env_refs), dict(base.env_unset))
        if "agent" in raw:
            changes["agent"] = self.string(raw["agent"], (*path, "agent"),
                                           choices=tuple(commands))
        if "env_passthrough" in raw:
            passthrough = self.strings(raw["env_passthrough"] or [], (*path, "env_passthrough"))
            for i, pattern in enumerate(passthrough):
                if not ENV_NAME_RE.match(pattern.replace("*", "_")):
                    self.fail((*path, "env_passthrough", i), f"'{pattern}' is not a variable "
                              "name or a pattern such as LC_*")
            changes["env_passthrough"] = passthrough
        if "model" in raw:
            changes["model"] = self.string(raw["model"], (*path, "model"))
        if "setup" in raw:
            changes["setup"] = self.strings(raw["setup"], (*path, "setup"))
        if "env_copy" in raw:
            copies = self.strings(raw["env_copy"], (*path, "env_copy"))
            for i, item in enumerate(copies):
                self.relpath(item, (*path, "env_copy", i))
            changes["env_copy"] = copies
        if "database" in raw:
            changes["database"] = self.database(raw["database"], (*path, "database"),
                                                base.database, uses)
        if "host" in raw:
            changes["host"] = read_host_name(self, raw["host"], (*path, "host"))
        if "sandbox" in raw:
            changes["sandbox"] = read_sandbox(self, raw["sandbox"], (*path, "sandbox"),
                                              base.sandbox)
        if "budget" in raw:
            changes["budget"] = read_budget(self, raw["budget"], (*path, "budget"))
        if "env" in raw:
            env = dict(base.env)
            for key, val in self.mapping_any(raw["env"], (*path, "env")).items():
                if not isinstance(key, str) or not ENV_NAME_RE.match(key):
                    self.fail((*path, "env", key),
                              f"'{key}' is not a valid environment variable name")
                if val is None:
                    val = ""
                env[key] = self.expand(self.string(val, (*path, "env", key)),
                                       (*path, "env", key), uses)
            changes["env"] = env
        changes["env_refs"], changes["env_unset"] = uses.refs, uses.unset
        return replace(base, **changes)

    def agent(self, path: KeyPath, raw: Any, defaults: AgentSpec,
              commands: Mapping[str, str]) -> AgentSpec:
        path = ("agents", *path)
        raw = self.mapping(raw, path, _AGENT_KEYS)
        if "name" not in raw:
            self.fail(path, "agent entry needs a 'name'")
        name = self.string(raw["name"], (*path, "name"))
        if not NAME_RE.match(name):
            self.fail((*path, "name"), f"agent name '{name}' may use letters, digits, '.', '_' and "
                                       "'-', starting with a letter or digit")
        spec = self.agent_fields(raw, path, replace(defaults, name=name), commands)
        changes: dict[str, Any] = {"where": self.doc.where(path)}
        changes["branch"] = (read_branch(self, raw["branch"], (*path, "branch")) if "branch"
                             in raw else f"agentdeck/{name}")
        if "role" in raw:
            changes["role"] = self.string(raw["role"], (*path, "role"), choices=ROLES)
        if "base" in raw:
            changes["base"] = self.string(raw["base"], (*path, "base"))
        if "task" in raw:
            changes["task"] = self.string(raw["task"], (*path, "task"))
        if "forbid" in raw:
            changes["forbid"] = self.strings(raw["forbid"], (*path, "forbid"))
        if "scope" in raw:
            changes["scope"] = self.strings(raw["scope"], (*path, "scope"))
        if "worktree" in raw:
            template = self.string(raw["worktree"], (*path, "worktree"))
            self.check_template(template, (*path, "worktree"), per_agent=True)
            changes["worktree"] = template
        return replace(spec, **changes)

    def check_unique(self, agents: list[AgentSpec], repo_name: str = "") -> None:
        from agentdeck.core.fleet.dbnames import identifier  # (it reads DatabaseSpec)

        seen_names: dict[str, AgentSpec] = {}
        seen_branches: dict[str, AgentSpec] = {}
        seen_dbs: dict[tuple[str, str, str], AgentSpec] = {}
        for index, agent in enumerate(agents):
            try:
                db = identifier(agent.database, repo_name, agent.name)
            except (ValueError, AgentdeckError):
                db = None  # a bad URL is reported where the database is read
            key = (agent.database.mode, agent.database.url or "", db or "")
            if db is not None and key in seen_dbs:
                first = seen_dbs[key]
                self.fail(("agents", index, "name"), f"agents '{first.name}' and '{agent.name}' "
                          f"would share the {agent.database.mode} '{db}' (names that differ "
                          "only in case, '-', '_' or '.' map to the same one): rename one")
            if db is not None:
                seen_dbs[key] = agent
            # keyed without case: on a case-insensitive disk (macOS, Windows) A1 and a1 are one
            # worktree folder, feat/X and feat/x one ref file
            if (first := seen_names.get(agent.name.casefold())) is not None:
                if first.name == agent.name:
                    self.fail(("agents", index, "name"), f"duplicate agent name '{agent.name}' "
                              f"(first at {first.where}); names must be unique")
                self.fail(("agents", index, "name"), f"agents '{first.name}' and '{agent.name}' "
                          "differ only in case, which a case-insensitive disk does not tell "
                          "apart (one worktree folder): rename one")
            if (first := seen_branches.get(agent.branch.casefold())) is not None:
                same = "" if first.branch == agent.branch else f" ('{first.branch}', in any case)"
                self.fail(("agents", index, "branch"), f"agents '{first.name}' and '{agent.name}' "
                          f"both use branch '{agent.branch}'{same}; a branch can be checked out "
                          "in one worktree only — give each agent its own branch")
            seen_names[agent.name.casefold()] = agent
            seen_branches[agent.branch.casefold()] = agent


@dataclass
class _EnvUses:
    """What an agent's fields take from the user's environment, as they are read."""

    refs: dict[str, tuple[str, ...]]
    unset: dict[str, str]


def _kind(value: Any) -> str:
    names: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean",
                              int: "an integer", float: "a number", type(None): "nothing"}
    text = names.get(type(value), type(value).__name__)
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return f"{text} ({value!r})"
    return text


_TOP_KEYS = ("version", "base", "worktrees", "defaults", "commands", "resume", "agents",
             "approvals", "dashboard", "rate_limits", "hosts", "notify", "budget")
def _size(reader: _FleetReader, value: Any, path: KeyPath) -> int:
    """A size in bytes: an integer, or a number with B, KB, MB or GB (powers of 1024)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?B)?\s*", str(value), re.IGNORECASE)
    if isinstance(value, bool) or not isinstance(value, str | int) or not match:
        reader.bad_value(path, f"'{reader.key_name(path)}' must be a size like 1MB, 512KB or "
                               f"a number of bytes, got {_kind(value)}")
    scale = {"": 1, "B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}
    size = int(float(match.group(1)) * scale[(match.group(2) or "").upper()])
    if not 1 <= size <= 1 << 40:
        reader.bad_value(path, f"'{reader.key_name(path)}' must be between 1 byte and 1024GB")
    return size


_DEFAULT_KEYS = ("agent", "model", "models", "setup", "env_copy", "env_copy_max", "env_file",
                 "ports", "database", "stagger", "setup_timeout", "env", "env_passthrough", "host",
                 "sandbox", "budget")
_AGENT_KEYS = ("name", "role", "branch", "base", "agent", "model", "task", "forbid", "scope",
               "env", "env_passthrough", "setup", "env_copy", "database", "worktree", "host",
               "sandbox", "budget")
