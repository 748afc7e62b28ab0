"""The fleet file's schema: which keys each section accepts, what each value must be, and the
records (`spec.py`) they become — read with the strict reader of `reader.py`.
`sample_fleet.yaml` documents every key accepted here.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agentdeck.core.errors import AgentdeckError
from agentdeck.core.fleet.options import (
    HostSpec,
    read_branch,
    read_budget,
    read_host_name,
    read_hosts,
    read_notify,
    read_release_key,
    read_sandbox,
    read_theme,
)
from agentdeck.core.fleet.reader import ENV_NAME_RE, EnvUses, Reader, describe
from agentdeck.core.fleet.spec import (
    BUILTIN_COMMANDS,
    DB_MODES,
    AgentSpec,
    ApprovalRule,
    DashboardSpec,
    DatabaseSpec,
    Fleet,
    PortsSpec,
)
from agentdeck.core.names import NAME_RE, ROLES, reserved_variable
from agentdeck.core.screen.detect.base import KINDS as PROMPT_KINDS
from agentdeck.core.yamlmarks import KeyPath, LocatedDocument, load_located

DEFAULT_FLEET_NAMES = ("agentdeck.yaml", "agentdeck.yml")


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


class _FleetReader(Reader):
    def __init__(self, doc: LocatedDocument, environ: Mapping[str, str]) -> None:
        super().__init__(doc, environ)
        self.hosts: Mapping[str, HostSpec] = {}

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
            changes["env_copy_max"] = self.size(raw_defaults["env_copy_max"],
                                            ("defaults", "env_copy_max"))
        defaults = self.agent_fields(raw_defaults, ("defaults",), AgentSpec("defaults", ""),
                                     commands)
        changes["defaults"] = defaults
        agents = []
        raw_agents = top.get("agents")
        if raw_agents is not None and not isinstance(raw_agents, list):
            self.bad_value(("agents",), f"'agents' must be a list, got {describe(raw_agents)}")
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
                 uses: EnvUses) -> DatabaseSpec:
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
        uses = EnvUses(dict(base.env_refs), dict(base.env_unset))
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


_TOP_KEYS = ("version", "base", "worktrees", "defaults", "commands", "resume", "agents",
             "approvals", "dashboard", "rate_limits", "hosts", "notify", "budget")
_DEFAULT_KEYS = ("agent", "model", "models", "setup", "env_copy", "env_copy_max", "env_file",
                 "ports", "database", "stagger", "setup_timeout", "env", "env_passthrough", "host",
                 "sandbox", "budget")
_AGENT_KEYS = ("name", "role", "branch", "base", "agent", "model", "task", "forbid", "scope",
               "env", "env_passthrough", "setup", "env_copy", "database", "worktree", "host",
               "sandbox", "budget")
