"""The fleet file's sections for agents that run elsewhere and unattended: `hosts` (and an
agent's `host`), `sandbox`, `budget` and `notify` — their records and how they are read (by
config.py's reader, whose checks and messages they use)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentdeck.core.names import NAME_RE
from agentdeck.core.yamlmarks import KeyPath

if TYPE_CHECKING:
    from agentdeck.core.config import _FleetReader as Reader

SANDBOX_MODES = ("none", "bwrap", "seatbelt")  # seatbelt: macOS sandbox-exec (unverified)


@dataclass(frozen=True)
class SandboxSpec:
    """How an agent is fenced in (core/sandbox.py): off unless the fleet asks."""

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
    """Another machine the fleet's agents may run on (core/remote.py)."""

    name: str
    ssh: str  # an ssh destination: user@box, or a Host of the user's ssh config
    repo: str  # the repository's clone there (an absolute path)
    agentdeck: str = "agentdeck"  # how to run agentdeck there (a path, when not on its PATH)
    ssh_options: tuple[str, ...] = ()  # more ssh arguments (e.g. -F config, -p 2222)


ALERT_EVENTS = ("waiting", "finished", "rate-limited", "error")


@dataclass(frozen=True)
class NotifySpec:
    """Notifications outside the dashboard (core/alerts.py): none unless a channel is set."""

    after: float = 30.0  # a prompt waiting this long is told
    events: tuple[str, ...] = ALERT_EVENTS
    desktop: bool = False
    sound: bool = False
    ntfy_topic: str | None = None
    ntfy_server: str = "https://ntfy.sh"
    webhook: str | None = None
    webhook_format: str = "json"  # json | slack | discord


def read_sandbox(reader: Reader, value: Any, path: KeyPath, inherited: SandboxSpec) -> SandboxSpec:
    if isinstance(value, str):  # sandbox: bwrap
        value = {"mode": value}
    data = reader.mapping(value, path, ("mode", "network"))
    mode = reader.string(data.get("mode", inherited.mode), (*path, "mode"),
                       choices=SANDBOX_MODES)
    network = (reader.boolean(data["network"], (*path, "network")) if "network" in data
               else inherited.network)
    return SandboxSpec(mode, network)

def read_notify(reader: Reader, raw: Any, path: KeyPath) -> NotifySpec:
    data = reader.mapping(raw, path, ("after", "events", "desktop", "sound", "ntfy",
                                    "webhook"))
    changes: dict[str, Any] = {}
    if "after" in data:
        changes["after"] = reader.duration(data["after"], (*path, "after"))
    if "events" in data:
        changes["events"] = tuple(reader.string(e, (*path, "events", i), choices=ALERT_EVENTS)
                                  for i, e in enumerate(reader.strings(data["events"],
                                                                     (*path, "events"))))
    for key in ("desktop", "sound"):
        if key in data:
            changes[key] = reader.boolean(data[key], (*path, key))
    if "ntfy" in data:
        ntfy = data["ntfy"] if isinstance(data["ntfy"], dict) else {"topic": data["ntfy"]}
        ntfy = reader.mapping(ntfy, (*path, "ntfy"), ("topic", "server"))
        changes["ntfy_topic"] = reader.string(ntfy.get("topic"), (*path, "ntfy", "topic"))
        if "server" in ntfy:
            changes["ntfy_server"] = read_url(reader, ntfy["server"], (*path, "ntfy", "server"))
    if "webhook" in data:
        hook = (data["webhook"] if isinstance(data["webhook"], dict)
                else {"url": data["webhook"]})
        hook = reader.mapping(hook, (*path, "webhook"), ("url", "format"))
        changes["webhook"] = read_url(reader, hook.get("url"), (*path, "webhook", "url"))
        if "format" in hook:
            changes["webhook_format"] = reader.string(hook["format"], (*path, "webhook",
                                                    "format"),
                                                    choices=("json", "slack", "discord"))
    return NotifySpec(**changes)

def read_url(reader: Reader, value: Any, path: KeyPath) -> str:
    text = reader.string(value, path)
    if not re.match(r"^https?://[^\s/]+", text):
        reader.bad_value(path, f"'{text}' is not an http(s):// URL")
    return text

def read_host_name(reader: Reader, value: Any, path: KeyPath) -> str | None:
    if value is None or value == "local":
        return None  # this machine
    return reader.string(value, path, choices=(*reader.hosts, "local"))


def read_budget(reader: Reader, raw: Any, path: KeyPath) -> BudgetSpec:
    data = reader.mapping(raw, path, ("usd", "tokens"))
    usd = data.get("usd")
    if usd is not None and (isinstance(usd, bool) or not isinstance(usd, int | float)
                            or usd <= 0):
        reader.bad_value((*path, "usd"), f"'budget.usd' must be a number of dollars above 0, "
                         f"got {usd!r}")
    tokens = (reader.integer(data["tokens"], (*path, "tokens"), 1, 10**12)
              if "tokens" in data else None)
    return BudgetSpec(float(usd) if usd is not None else None, tokens)


_HOST_KEYS = ("ssh", "repo", "agentdeck", "ssh_options")


def read_hosts(reader: Reader, value: Any) -> dict[str, HostSpec]:
    """`hosts: {box1: {ssh: user@box1, repo: /srv/app}}`."""
    hosts: dict[str, HostSpec] = {}
    for name, raw in reader.mapping_any(value, ("hosts",)).items():
        path: KeyPath = ("hosts", name)
        if not isinstance(name, str) or not NAME_RE.match(name) or name == "local":
            reader.fail(path, f"'{name}' is not a usable host name (letters, digits, '.', '_', "
                        "'-'; 'local' means this machine)")
        data = reader.mapping(raw, path, _HOST_KEYS)
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

