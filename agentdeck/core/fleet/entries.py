"""An agent's entry in the fleet file, and the `defaults:` every entry starts from: their keys,
the checks on each value (worktree templates, ports, databases, environment), and that no two
agents share a name, a branch or a database."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from agentdeck.core.errors import AgentdeckError
from agentdeck.core.fleet.checkspec import CheckSpec, read_checks
from agentdeck.core.fleet.kinds import acp_template
from agentdeck.core.fleet.options import (
    HostSpec,
    read_branch,
    read_budget,
    read_host_name,
    read_sandbox,
)
from agentdeck.core.fleet.reader import ENV_NAME_RE, EnvUses, Reader
from agentdeck.core.fleet.spec import CHANNELS, DB_MODES, AgentSpec, DatabaseSpec, PortsSpec
from agentdeck.core.names import NAME_RE, ROLES, reserved_variable
from agentdeck.core.yamlmarks import KeyPath, LocatedDocument

# each section's keys (docs/configuration.md is written from these)
DEFAULT_KEYS = ("agent", "model", "models", "setup", "env_copy", "env_copy_max", "env_file",
                "ports", "database", "stagger", "setup_timeout", "env", "env_passthrough", "host",
                "sandbox", "budget", "channel")
AGENT_KEYS = ("name", "role", "branch", "base", "agent", "model", "task", "forbid", "scope",
              "env", "env_passthrough", "setup", "env_copy", "database", "worktree", "host",
              "sandbox", "budget", "checks", "channel")
PORT_KEYS = ("start", "end", "vars", "extra")
DATABASE_KEYS = ("mode", "url", "template", "path", "file")


class EntryReader(Reader):
    """The reader of agent entries; the hosts are the fleet's (`hosts:`, read before them)."""

    def __init__(self, doc: LocatedDocument, environ: Mapping[str, str]) -> None:
        super().__init__(doc, environ)
        self.hosts: Mapping[str, HostSpec] = {}
        self.fleet_checks: tuple[CheckSpec, ...] = ()  # (read before the agents)

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
        raw = self.mapping(value, path, PORT_KEYS)
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
        raw = self.mapping(value, path, DATABASE_KEYS)
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
        if "channel" in raw:
            changes["channel"] = self.string(raw["channel"], (*path, "channel"),
                                             choices=CHANNELS)
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
        raw = self.mapping(raw, path, AGENT_KEYS)
        if "name" not in raw:
            self.fail(path, "agent entry needs a 'name'")
        name = self.string(raw["name"], (*path, "name"))
        if not NAME_RE.match(name):
            self.fail((*path, "name"), f"agent name '{name}' may use letters, digits, '.', '_' and "
                                       "'-', starting with a letter or digit")
        spec = self.agent_fields(raw, path, replace(defaults, name=name), commands)
        if spec.channel == "acp" and acp_template(spec.agent, commands) is None:
            key = "channel" if "channel" in raw or "agent" not in raw else "agent"
            self.fail((*path, key), f"agent kind '{spec.agent}' has no ACP mode agentdeck "
                      f"knows; give commands.{spec.agent} the command that speaks ACP, or use "
                      "channel: pty")
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
        if "checks" in raw:
            changes["checks"] = own = read_checks(self, raw["checks"], (*path, "checks"),
                                                  override=True)
            known = {c.name for c in self.fleet_checks}
            for index, check in enumerate(own):
                if check.run is None and check.name not in known:
                    self.fail((*path, "checks", index), f"check '{check.name}' is not one of "
                              "the fleet's checks: give it 'run', the command it runs")
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
            if (same_name := seen_names.get(agent.name.casefold())) is not None:
                if same_name.name == agent.name:
                    self.fail(("agents", index, "name"), f"duplicate agent name '{agent.name}' "
                              f"(first at {same_name.where}); names must be unique")
                self.fail(("agents", index, "name"), f"agents '{same_name.name}' and "
                          f"'{agent.name}' differ only in case, which a case-insensitive disk "
                          "does not tell apart (one worktree folder): rename one")
            if (same_branch := seen_branches.get(agent.branch.casefold())) is not None:
                same = ("" if same_branch.branch == agent.branch
                        else f" ('{same_branch.branch}', in any case)")
                self.fail(("agents", index, "branch"), f"agents '{same_branch.name}' and "
                          f"'{agent.name}' both use branch '{agent.branch}'{same}; a branch can "
                          "be checked out in one worktree only — give each agent its own branch")
            seen_names[agent.name.casefold()] = agent
            seen_branches[agent.branch.casefold()] = agent
