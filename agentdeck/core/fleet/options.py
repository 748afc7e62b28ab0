"""The fleet file's sections for agents that run elsewhere and unattended: `hosts` (and an
agent's `host`), `sandbox`, `budget` and `notify` — their records and how they are read (by
the fleet reader of schema.py, whose checks and messages they use)."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from agentdeck.core.names import NAME_RE, branch_problem
from agentdeck.core.screen.keys import key_problem
from agentdeck.core.yamlmarks import KeyPath

if TYPE_CHECKING:
    from agentdeck.core.fleet.entries import EntryReader as Reader

SANDBOX_MODES = ("none", "bwrap", "seatbelt")  # seatbelt: macOS sandbox-exec (unverified)
# each section's keys (docs/configuration.md is written from these)
SANDBOX_KEYS = ("mode", "network")
BUDGET_KEYS = ("usd", "tokens")
HOST_KEYS = ("ssh", "repo", "agentdeck", "ssh_options")
NOTIFY_KEYS = ("after", "events", "command", "desktop", "sound", "ntfy", "webhook", "action_ttl")
NTFY_KEYS = ("topic", "server")
WEBHOOK_KEYS = ("url", "format")


@dataclass(frozen=True)
class SandboxSpec:
    """How an agent is fenced in (core/agents/sandbox.py): off unless the fleet asks."""

    mode: str = "none"  # none | bwrap (Linux) | seatbelt (macOS)
    network: bool = True  # false: only the agent's own loopback

    @property
    def on(self) -> bool:
        return self.mode != "none"


@dataclass(frozen=True)
class BudgetSpec:
    """What an agent may spend before it is stopped and asked about (daemon/budgets.py)."""

    usd: float | None = None
    tokens: int | None = None


@dataclass(frozen=True)
class HostSpec:
    """Another machine the fleet's agents may run on (core/agents/remote.py)."""

    name: str
    ssh: str  # an ssh destination: user@box, or a Host of the user's ssh config
    repo: str  # the repository's clone there (an absolute path)
    agentdeck: str = "agentdeck"  # how to run agentdeck there (a path, when not on its PATH)
    ssh_options: tuple[str, ...] = ()  # more ssh arguments (e.g. -F config, -p 2222)


ALERT_EVENTS = ("waiting", "finished", "rate-limited", "error")


@dataclass(frozen=True)
class NotifySpec:
    """Notifications outside the dashboard (core/oversight/alerts.py): none unless a channel is
    set."""

    after: float = 30.0  # a prompt waiting this long is told
    events: tuple[str, ...] = ALERT_EVENTS
    # run at once for each new prompt, dashboard open or not, with AGENTDECK_AGENT and
    # AGENTDECK_SUMMARY in its environment (`dashboard.notify` is the older spelling)
    command: str | None = None
    desktop: bool = False
    sound: bool = False
    ntfy_topic: str | None = None
    ntfy_server: str = "https://ntfy.sh"
    webhook: str | None = None
    webhook_format: str = "json"  # json | slack | discord
    # a waiting prompt's Allow / Deny actions (through `agentdeck serve`) work this long
    action_ttl: float = 900.0


def read_sandbox(reader: Reader, value: Any, path: KeyPath, inherited: SandboxSpec) -> SandboxSpec:
    if isinstance(value, str):  # sandbox: bwrap
        value = {"mode": value}
    data = reader.mapping(value, path, SANDBOX_KEYS)
    mode = reader.string(data.get("mode", inherited.mode), (*path, "mode"),
                       choices=SANDBOX_MODES)
    network = (reader.boolean(data["network"], (*path, "network")) if "network" in data
               else inherited.network)
    return SandboxSpec(mode, network)

def read_notify(reader: Reader, raw: Any, path: KeyPath) -> NotifySpec:
    data = reader.mapping(raw, path, NOTIFY_KEYS)
    changes: dict[str, Any] = {}
    if "after" in data:
        changes["after"] = reader.duration(data["after"], (*path, "after"))
    if "action_ttl" in data:
        changes["action_ttl"] = reader.duration(data["action_ttl"], (*path, "action_ttl"),
                                                most=24 * 3600)
    if "events" in data:
        changes["events"] = tuple(reader.string(e, (*path, "events", i), choices=ALERT_EVENTS)
                                  for i, e in enumerate(reader.strings(data["events"],
                                                                     (*path, "events"))))
    if "command" in data:
        changes["command"] = reader.string(data["command"], (*path, "command"))
    for key in ("desktop", "sound"):
        if key in data:
            changes[key] = reader.boolean(data[key], (*path, key))
    if "ntfy" in data:
        ntfy = data["ntfy"] if isinstance(data["ntfy"], dict) else {"topic": data["ntfy"]}
        ntfy = reader.mapping(ntfy, (*path, "ntfy"), NTFY_KEYS)
        topic = reader.string(ntfy.get("topic"), (*path, "ntfy", "topic"))
        if not _NTFY_TOPIC.fullmatch(topic):  # it becomes a path of the server's URL
            reader.bad_value((*path, "ntfy", "topic"), f"'{topic}' is not an ntfy topic (1 to 64 "
                             "letters, digits, '-' and '_')")
        changes["ntfy_topic"] = topic
        if "server" in ntfy:
            changes["ntfy_server"] = read_url(reader, ntfy["server"], (*path, "ntfy", "server"))
    if "webhook" in data:
        hook = (data["webhook"] if isinstance(data["webhook"], dict)
                else {"url": data["webhook"]})
        hook = reader.mapping(hook, (*path, "webhook"), WEBHOOK_KEYS)
        changes["webhook"] = read_url(reader, hook.get("url"), (*path, "webhook", "url"))
        if "format" in hook:
            changes["webhook_format"] = reader.string(hook["format"], (*path, "webhook",
                                                    "format"),
                                                    choices=("json", "slack", "discord"))
    return NotifySpec(**changes)

_NTFY_TOPIC = re.compile(r"[-_A-Za-z0-9]{1,64}")


def read_url(reader: Reader, value: Any, path: KeyPath) -> str:
    text = reader.string(value, path)
    try:
        parts = urlsplit(text)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # a bad port or bracket: not a URL either
        ok = False
    # nothing unprintable anywhere: a newline in a URL is a header or a request of its own
    if not ok or not text.isprintable() or any(c.isspace() for c in text):
        reader.bad_value(path, f"'{text}' is not an http(s):// URL")
    return text

def read_host_name(reader: Reader, value: Any, path: KeyPath) -> str | None:
    if value is None or value == "local":
        return None  # this machine
    return reader.string(value, path, choices=(*reader.hosts, "local"))


def read_budget(reader: Reader, raw: Any, path: KeyPath) -> BudgetSpec:
    data = reader.mapping(raw, path, BUDGET_KEYS)
    usd = data.get("usd")
    # finite too: NaN compares false with every spend (the budget would never be crossed)
    if usd is not None and (isinstance(usd, bool) or not isinstance(usd, int | float)
                            or not math.isfinite(usd) or usd <= 0):
        reader.bad_value((*path, "usd"), f"'budget.usd' must be a number of dollars above 0, "
                         f"got {usd!r}")
    tokens = (reader.integer(data["tokens"], (*path, "tokens"), 1, 10**12)
              if "tokens" in data else None)
    return BudgetSpec(float(usd) if usd is not None else None, tokens)


def read_branch(reader: Reader, value: Any, path: KeyPath) -> str:
    """An agent's branch: git's rules, and none of git's special names (@, HEAD, …)."""
    branch = reader.string(value, path)
    if (problem := branch_problem(branch)) is not None:
        reader.bad_value(path, problem)
    return branch


def read_release_key(reader: Reader, value: Any, path: KeyPath) -> str:
    key = reader.string(value, path)
    if (problem := key_problem(key)) is not None:
        reader.bad_value(path, problem)
    return key


SHIPPED_THEMES = Path(__file__).resolve().parents[2] / "themes"
# Textual's own themes (textual.theme.BUILTIN_THEMES; core never imports Textual: a test keeps
# this list in step with it)
TEXTUAL_THEMES = (
    "ansi-dark", "ansi-light", "atom-one-dark", "atom-one-light", "catppuccin-frappe",
    "catppuccin-latte", "catppuccin-macchiato", "catppuccin-mocha", "dracula", "flexoki",
    "gruvbox", "monokai", "nord", "rose-pine", "rose-pine-dawn", "rose-pine-moon",
    "solarized-dark", "solarized-light", "textual-dark", "textual-light", "tokyo-night",
)


def user_themes_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "agentdeck" / "themes"


def theme_names(user_dir: Path | None = None) -> set[str]:
    """Every theme a name may choose: agentdeck's files (by file name, and by the `name:` a
    file gives), the user's, and Textual's own."""
    names = set(TEXTUAL_THEMES)
    for folder in (SHIPPED_THEMES, user_dir or user_themes_dir()):
        for file in sorted(folder.glob("*.yaml")) if folder.is_dir() else ():
            names.add(file.stem)
            try:
                data = yaml.safe_load(file.read_text(encoding="utf-8"))
            except (OSError, ValueError, yaml.YAMLError):
                continue  # the dashboard reports a broken theme file; it names none here
            if isinstance(data, dict) and isinstance(data.get("name"), str):
                names.add(data["name"])
    return names


def read_theme(reader: Reader, value: Any, path: KeyPath) -> str:
    """A theme by name: never a path (the name picks a file in a themes folder)."""
    name = reader.string(value, path)
    if not NAME_RE.fullmatch(name):
        reader.bad_value(path, f"'{name}' is not a theme name (a name such as agentdeck-dark, "
                         "not a path)")
    known = theme_names()
    if name not in known:
        reader.bad_value(path, f"no theme named '{name}'; agentdeck's: "
                         f"{', '.join(sorted(n for n in known if n.startswith('agentdeck')))}, "
                         f"Textual's own, or a file {name}.yaml in {user_themes_dir()}")
    return name


def read_hosts(reader: Reader, value: Any) -> dict[str, HostSpec]:
    """`hosts: {box1: {ssh: user@box1, repo: /srv/app}}`."""
    hosts: dict[str, HostSpec] = {}
    for name, raw in reader.mapping_any(value, ("hosts",)).items():
        path: KeyPath = ("hosts", name)
        if not isinstance(name, str) or not NAME_RE.match(name) or name == "local":
            reader.fail(path, f"'{name}' is not a usable host name (letters, digits, '.', '_', "
                        "'-'; 'local' means this machine)")
        data = reader.mapping(raw, path, HOST_KEYS)
        for key in ("ssh", "repo"):
            if key not in data:
                reader.fail(path, f"host '{name}' needs '{key}' (e.g. ssh: user@{name}, repo: "
                            "/srv/app)")
        ssh = reader.string(data["ssh"], (*path, "ssh"))
        if not ssh or ssh.startswith("-") or any(c.isspace() for c in ssh):
            # (ssh gets it after `--` anyway: an option here is a mistake, never obeyed)
            reader.bad_value((*path, "ssh"), f"'{ssh}' is not an ssh destination (user@host or "
                             "a Host of your ssh config)")
        repo = reader.string(data["repo"], (*path, "repo"))
        if not repo.startswith(("/", "~/")):
            reader.bad_value((*path, "repo"), f"'{repo}' must be an absolute path on {name} "
                             "(or start with ~/)")
        command = reader.string(data.get("agentdeck", "agentdeck"), (*path, "agentdeck"))
        options = reader.strings(data.get("ssh_options", []), (*path, "ssh_options"))
        hosts[name] = HostSpec(name, ssh, repo, command, options)
    reader.hosts = hosts
    return hosts

