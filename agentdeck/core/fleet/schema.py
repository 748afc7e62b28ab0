"""The fleet file's schema: which keys each section accepts, what each value must be, and the
records (`spec.py`) they become — read with the strict reader of `reader.py`.
`sample_fleet.yaml` documents every key accepted here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from agentdeck.core.fleet.checkspec import read_checks
from agentdeck.core.fleet.entries import DEFAULT_KEYS, EntryReader
from agentdeck.core.fleet.kinds import BUILTIN_COMMANDS, BUILTIN_RESUME
from agentdeck.core.fleet.options import (
    NotifySpec,
    read_budget,
    read_hosts,
    read_notify,
    read_release_key,
    read_theme,
)
from agentdeck.core.fleet.reader import describe
from agentdeck.core.fleet.spec import (
    AgentSpec,
    ApprovalRule,
    DashboardSpec,
    Fleet,
)
from agentdeck.core.names import NAME_RE, ROLES
from agentdeck.core.screen.detect.base import KINDS as PROMPT_KINDS
from agentdeck.core.yamlmarks import KeyPath, load_located

DEFAULT_FLEET_NAMES = ("agentdeck.yaml", "agentdeck.yml")
# each section's keys (an agent entry's and `defaults:` are in entries.py, the sections of
# options.py there); docs/configuration.md is written from these
TOP_KEYS = ("version", "base", "worktrees", "defaults", "commands", "resume", "agents",
            "approvals", "dashboard", "rate_limits", "hosts", "notify", "budget", "checks")
APPROVAL_KEYS = ("rules", "hooks", "hook_timeout")
RULE_KEYS = ("allow", "deny", "match", "command", "compound", "agents", "role")
DASHBOARD_KEYS = ("scrollback", "release_key", "theme", "bell", "notify", "desktop", "keys",
                  "agent_size")
RATE_LIMIT_KEYS = ("resume", "message")


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


class _FleetReader(EntryReader):
    # -- sections -----------------------------------------------------------------------------

    def fleet(self) -> Fleet:
        """The whole file, section by section; `hosts` before the agents that name them."""
        top = self.top()
        changes = self.layout(top)
        changes["commands"] = commands = self.commands(top.get("commands"))
        changes["resume"] = self.resume(top.get("resume"))
        changes["hosts"] = read_hosts(self, top.get("hosts"))
        changes["checks"] = self.fleet_checks = read_checks(self, top.get("checks"), ("checks",))
        raw_defaults = self.mapping(top.get("defaults"), ("defaults",), DEFAULT_KEYS)
        changes.update(self.fleet_defaults(raw_defaults))
        changes["defaults"] = self.agent_fields(raw_defaults, ("defaults",),
                                                AgentSpec("defaults", ""), commands)
        changes["agents"] = self.agents(top.get("agents"), changes["defaults"], commands)
        changes.update(self.approvals(top.get("approvals")))
        if "dashboard" in top:
            changes["dashboard"] = self.dashboard(top["dashboard"], ("dashboard",))
        if "notify" in top:
            changes["notify"] = read_notify(self, top["notify"], ("notify",))
        changes.update(self.notify_command(top, changes))
        if "budget" in top:
            changes["budget"] = read_budget(self, top["budget"], ("budget",))
        changes.update(self.rate_limits(top.get("rate_limits")))
        return replace(Fleet(path=self.doc.file), **changes)

    def notify_command(self, top: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """`dashboard.notify`, the command's first home, is read as `notify.command`: one key
        holds it (the session host runs it, dashboard open or not); both set is an error."""
        dashboard = top.get("dashboard")
        if not isinstance(dashboard, dict) or "notify" not in dashboard:
            return {}
        path = ("dashboard", "notify")
        command = self.string(dashboard["notify"], path)
        notify: NotifySpec = changes.get("notify", NotifySpec())
        if notify.command is not None:
            self.fail(path, "the command is set twice: keep notify.command and remove "
                      "dashboard.notify")
        return {"notify": replace(notify, command=command)}

    def top(self) -> dict[str, Any]:
        """The top level's keys, the file's version checked."""
        top = self.mapping(self.doc.data, (), TOP_KEYS)
        if self.doc.data is None:
            self.fail((), "the fleet file is empty; see sample_fleet.yaml")
        if "version" in top:
            version = self.integer(top["version"], ("version",), 1, 99)
            if version != 1:
                self.fail(("version",), f"fleet file version {version} is not supported (use 1)")
        return top

    def layout(self, top: dict[str, Any]) -> dict[str, Any]:
        """`base` and `worktrees`: where agents' branches start and their worktrees go."""
        changes: dict[str, Any] = {}
        if "base" in top:
            changes["base"] = self.string(top["base"], ("base",))
        if "worktrees" in top:
            template = self.string(top["worktrees"], ("worktrees",))
            self.check_template(template, ("worktrees",))
            changes["worktrees"] = template
        return changes

    def commands(self, raw: Any) -> dict[str, str]:
        """The built-in kinds' commands, with the fleet's own changes and kinds."""
        commands = dict(BUILTIN_COMMANDS)
        for kind, command in self.mapping_any(raw, ("commands",)).items():
            commands[kind] = self.string(command, ("commands", kind))
            if not NAME_RE.match(kind):
                self.fail(("commands", kind), f"'{kind}' is not a valid agent kind name")
        return commands

    def resume(self, raw: Any) -> dict[str, str]:
        """The built-in kinds' resume commands, with the fleet's own."""
        resume = dict(BUILTIN_RESUME)
        for kind, command in self.mapping_any(raw, ("resume",)).items():
            resume[kind] = self.string(command, ("resume", kind))
        return resume

    def fleet_defaults(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The keys of `defaults:` that are the fleet's, not each agent's."""
        path = ("defaults",)
        changes: dict[str, Any] = {}
        if "ports" in raw:
            changes["ports"] = self.ports(raw["ports"], (*path, "ports"))
        if "models" in raw:
            changes["role_models"] = self.role_models(raw["models"], (*path, "models"))
        if "stagger" in raw:
            changes["stagger"] = self.duration(raw["stagger"], (*path, "stagger"))
        if "setup_timeout" in raw:
            changes["setup_timeout"] = self.duration(raw["setup_timeout"],
                                                     (*path, "setup_timeout"), most=86_400)
            if changes["setup_timeout"] <= 0:
                self.fail((*path, "setup_timeout"), "'setup_timeout' must be more than 0")
        if "env_file" in raw:
            changes["env_file"] = self.relpath(raw["env_file"], (*path, "env_file"))
        if "env_copy_max" in raw:
            changes["env_copy_max"] = self.size(raw["env_copy_max"], (*path, "env_copy_max"))
        return changes

    def role_models(self, raw: Any, path: KeyPath) -> dict[str, str]:
        models = self.mapping_any(raw, path)
        for role in models:
            if role not in ROLES:
                self.fail((*path, role), f"'{role}' is not a role ({' or '.join(ROLES)})")
        return {role: self.string(m, (*path, role)) for role, m in models.items()}

    def agents(self, raw: Any, defaults: AgentSpec,
               commands: Mapping[str, str]) -> tuple[AgentSpec, ...]:
        if raw is not None and not isinstance(raw, list):
            self.bad_value(("agents",), f"'agents' must be a list, got {describe(raw)}")
        agents = [self.agent((index,), entry, defaults, commands)
                  for index, entry in enumerate(raw or [])]
        self.check_unique(agents)
        return tuple(agents)

    def approvals(self, raw: Any) -> dict[str, Any]:
        path = ("approvals",)
        data = self.mapping(raw, path, APPROVAL_KEYS)
        changes: dict[str, Any] = {}
        if "hooks" in data:
            changes["hooks"] = self.boolean(data["hooks"], (*path, "hooks"))
        if "hook_timeout" in data:
            changes["hook_timeout"] = float(self.integer(data["hook_timeout"],
                                                         (*path, "hook_timeout"), 1, 86_400))
        rules = data.get("rules") or []
        if not isinstance(rules, list):
            self.bad_value((*path, "rules"), "'rules' must be a list")
        changes["rules"] = tuple(self.rule(rule, (*path, "rules", i))
                                 for i, rule in enumerate(rules))
        return changes

    def rate_limits(self, raw: Any) -> dict[str, Any]:
        path = ("rate_limits",)
        limits = self.mapping(raw, path, RATE_LIMIT_KEYS)
        changes: dict[str, Any] = {}
        if "resume" in limits:
            changes["rate_limit_resume"] = self.boolean(limits["resume"], (*path, "resume"))
        if "message" in limits:
            changes["rate_limit_message"] = self.string(limits["message"], (*path, "message"))
        return changes

    def rule(self, raw: Any, path: KeyPath) -> ApprovalRule:
        data = self.mapping(raw, path, RULE_KEYS)
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
        data = self.mapping(raw, path, DASHBOARD_KEYS)
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
        # (`notify`: the older spelling of notify.command, read by notify_command)
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
