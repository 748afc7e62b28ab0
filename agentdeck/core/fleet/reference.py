"""docs/configuration.md, written from the schema: every key each section of the fleet file
accepts (the key tuples the readers check against), its type, its default (read from the
records of spec.py and options.py where one is set there) and one line of what it does, then
the built-in agent kinds' commands from the kinds registry.

`python -m agentdeck.core.fleet.reference` rewrites the file; `--check` says whether it is
current. A key added to a section without a line here, or a line for a key no section has,
fails the rendering (and tests/test_config_reference.py with it).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agentdeck.core.files import atomic_write
from agentdeck.core.fleet import checkspec, entries, options, schema
from agentdeck.core.fleet.kinds import KINDS
from agentdeck.core.fleet.spec import empty_fleet

OUT = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"
_AGENT = tuple(dict.fromkeys((*entries.DEFAULT_KEYS, *entries.AGENT_KEYS)))
# (id, heading, where it stands in the file, its keys)
SECTIONS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("top", "Top level", "", schema.TOP_KEYS),
    ("agent", "Agents and their defaults", "`defaults:` and each entry of `agents:`", _AGENT),
    ("ports", "Ports", "`defaults.ports`", entries.PORT_KEYS),
    ("database", "Database", "`database:` (defaults or an agent; a bare string is the mode)",
     entries.DATABASE_KEYS),
    ("sandbox", "Sandbox", "`sandbox:` (defaults or an agent; a bare string is the mode)",
     options.SANDBOX_KEYS),
    ("budget", "Budget", "`budget:` (the whole fleet's, the defaults' or an agent's)",
     options.BUDGET_KEYS),
    ("check", "Checks", "each entry of `checks:` (the top level's; an agent's own `checks:` "
     "changes the fleet's check of the same name, or adds one)", checkspec.CHECK_KEYS),
    ("approvals", "Approvals", "`approvals:`", schema.APPROVAL_KEYS),
    ("rule", "Approval rules", "each entry of `approvals.rules`", schema.RULE_KEYS),
    ("dashboard", "Dashboard", "`dashboard:`", schema.DASHBOARD_KEYS),
    ("rate_limits", "Rate limits", "`rate_limits:`", schema.RATE_LIMIT_KEYS),
    ("host", "Hosts", "each `hosts.<name>:` (the name: letters, digits, `.`, `_`, `-`)",
     options.HOST_KEYS),
    ("notify", "Notifications", "`notify:`", options.NOTIFY_KEYS),
    ("ntfy", "ntfy", "`notify.ntfy` (a bare string is the topic)", options.NTFY_KEYS),
    ("webhook", "Webhook", "`notify.webhook` (a bare string is the URL)", options.WEBHOOK_KEYS),
)
# section.key -> (type, default, what it does); a default "=a.b" is read from the fleet that an
# empty file gives (spec.Fleet, its defaults an AgentSpec)
DOCS: dict[str, tuple[str, str, str]] = {
    "top.version": ("integer", "1", "the file format's version; only 1 exists"),
    "top.base": ("string", "origin's default branch", "where new agent branches start (any ref)"),
    "top.worktrees": ("template", "=worktrees", "where each agent's worktree goes: {repo}, "
                      "{name}, {branch}; relative to the main worktree"),
    "top.defaults": ("mapping", "", "what every agent starts from (below)"),
    "top.commands": ("mapping kind: command", "the built-in kinds'", "how each agent kind "
                     "starts; a new name is a kind of the fleet's own (see the kinds below)"),
    "top.resume": ("mapping kind: command", "none", "how an agent that ran before is restarted"),
    "top.agents": ("list", "[]", "the fleet's agents (below)"),
    "top.approvals": ("mapping", "", "the approvals queue: rules and hooks (below)"),
    "top.dashboard": ("mapping", "", "the dashboard's settings (below)"),
    "top.rate_limits": ("mapping", "", "what happens when an agent hits a usage limit"),
    "top.hosts": ("mapping name: host", "{}", "other machines agents run on (below)"),
    "top.notify": ("mapping", "", "notifications outside the dashboard (below)"),
    "top.budget": ("mapping", "none", "the whole fleet's budget"),
    "top.checks": ("list", "[]", "what judges each agent's work, run in its worktree (below)"),
    "agent.name": ("string", "required", "the agent's name, unique (letters, digits, `.`, `_`, "
                   "`-`)"),
    "agent.role": ("lead \\| worker", "=defaults.role", "a lead is given the roster of workers"),
    "agent.branch": ("string", "agentdeck/NAME", "its branch, unique across the fleet"),
    "agent.base": ("string", "the top-level base", "where its branch starts"),
    "agent.agent": ("kind", "=defaults.agent", "which agent kind runs (`commands:`)"),
    "agent.model": ("string", "none", "filled into {model} of its command"),
    "agent.channel": ("pty or acp", "pty", "how agentdeck drives it: its own TUI in a terminal "
                      "(pty), or the Agent Client Protocol over stdio (acp: its kind's ACP "
                      "command, or a command of `commands:` that speaks it; needs "
                      "`agentdeck[acp]`)"),
    "agent.models": ("mapping role: model", "{}", "the model of agents that name none, by role"),
    "agent.task": ("string", "none", "what the agent should do"),
    "agent.forbid": ("list of paths", "[]", "what it must not touch: told to it, flagged in "
                     "review"),
    "agent.scope": ("list of paths", "[]", "where it works: told to it"),
    "agent.env": ("mapping", "{}", "its environment (in .env.local); ${VAR} and "
                  "${VAR:-default} come from yours"),
    "agent.env_passthrough": ("list of names", "all", "the only variables of yours it inherits "
                              "(names or patterns such as LC_*) besides the basics"),
    "agent.setup": ("list of commands", "[]", "run in each new worktree, in order, through "
                    "/bin/sh"),
    "agent.setup_timeout": ("duration", "15m", "how long one setup command may run"),
    "agent.env_copy": ("list of paths", "[]", "untracked files copied from the main worktree"),
    "agent.env_copy_max": ("size", "1MB", "the largest file env_copy copies"),
    "agent.env_file": ("path", "=env_file", "the per-worktree env file agentdeck manages"),
    "agent.ports": ("mapping", "", "one free port per agent (below)"),
    "agent.database": ("mapping or mode", "none", "a database per agent (below)"),
    "agent.stagger": ("duration", "0s", "the wait between starting two agents"),
    "agent.worktree": ("template", "the top-level worktrees", "this agent's worktree path"),
    "agent.host": ("host name \\| local", "local", "the machine it is made and runs on"),
    "agent.sandbox": ("mapping or mode", "none", "how it is fenced in (below)"),
    "agent.budget": ("mapping", "none", "what it may spend before it is stopped and you asked"),
    "agent.checks": ("list", "[]", "its own checks, or changes to the fleet's by name (below)"),
    "ports.start": ("integer", "=ports.start", "the first port handed out"),
    "ports.end": ("integer", "start + 998", "the last port handed out"),
    "ports.vars": ("list of names", "=ports.vars", "variables that all get the agent's port"),
    "ports.extra": ("list of names", "=ports.extra", "variables that each get a port of their "
                    "own"),
    "database.mode": ("string", "=defaults.database.mode", " \\| ".join(
        ("postgres-db", "postgres-schema", "sqlite", "compose", "none"))),
    "database.url": ("URL", "none", "postgres: the base database; compose: how the app reaches "
                     "its service"),
    "database.template": ("boolean", "=defaults.database.template", "postgres-db: clone the "
                          "base database"),
    "database.path": ("path", "none", "sqlite: the database file in the repository"),
    "database.file": ("path", "compose.yaml, docker-compose.yml, …", "compose: the compose "
                      "file"),
    "sandbox.mode": ("string", "=defaults.sandbox.mode", "none \\| bwrap (Linux) \\| seatbelt "
                     "(macOS, unverified)"),
    "sandbox.network": ("boolean", "=defaults.sandbox.network", "false: only its own loopback"),
    "budget.usd": ("number", "none", "dollars it may spend"),
    "budget.tokens": ("integer", "none", "tokens it may use"),
    "check.name": ("string", "required", "the check's name (letters, digits, `.`, `_`, `-`)"),
    "check.run": ("shell command", "required", "run through /bin/sh in the agent's worktree, "
                  "with its env, port and database, sandboxed when it is; exit 0 passes"),
    "check.timeout": ("duration", "10m", "how long it may run before it is ended (and fails)"),
    "check.when": ("commit \\| manual", "commit", "commit: on each new commit of the agent's "
                   "branch; manual: only on `agentdeck checks`"),
    "approvals.rules": ("list", "[]", "rules that answer matching prompts without asking"),
    "approvals.hooks": ("boolean", "=hooks", "hand Claude Code's and Codex's permission "
                        "requests to the dashboard through their hook"),
    "approvals.hook_timeout": ("seconds", "120", "how long a hook waits before the "
                               "agent asks on its own screen"),
    "rule.allow": ("prompt kind", "", "allow prompts of this kind: bash, edit, write, fetch, "
                   "mcp, other or any"),
    "rule.deny": ("prompt kind", "", "deny them (deny rules win over allow rules)"),
    "rule.match": ("regular expression", "", "bash: each command must match it whole; other "
                   "kinds: searched in the summary"),
    "rule.command": ("words", "", "bash: the words each command starts with (`npm test`)"),
    "rule.compound": ("boolean", "false", "bash: chains, pipes, substitutions and redirections "
                      "allowed"),
    "rule.agents": ("list of names", "every agent", "the agents it speaks for"),
    "rule.role": ("lead \\| worker", "both", "the role it speaks for"),
    "dashboard.scrollback": ("integer", "=dashboard.scrollback", "lines kept per pane"),
    "dashboard.release_key": ("key", "=dashboard.release_key", "gives the keyboard back from "
                              "a pane"),
    "dashboard.theme": ("theme name", "agentdeck-dark", "agentdeck's, Textual's, or one in "
                        "~/.config/agentdeck/themes"),
    "dashboard.bell": ("boolean", "=dashboard.bell", "ring when an agent starts waiting"),
    "dashboard.notify": ("shell command", "none", "the older spelling of `notify.command`"),
    "dashboard.desktop": ("boolean", "=dashboard.desktop", "a desktop notification for each "
                          "new prompt, through the terminal"),
    "dashboard.keys": ("mapping action: keys", "{}", "rebind dashboard actions"),
    "dashboard.agent_size": ("COLSxROWS", "100x30", "the smallest terminal an agent gets"),
    "rate_limits.resume": ("boolean", "=rate_limit_resume", "send `message` when a limit "
                           "resets"),
    "rate_limits.message": ("string", "=rate_limit_message", "what is sent then"),
    "host.ssh": ("ssh destination", "required", "user@host, or a Host of your ssh config"),
    "host.repo": ("absolute path", "required", "the repository's clone there"),
    "host.agentdeck": ("command", "agentdeck", "how to run agentdeck there"),
    "host.ssh_options": ("list of strings", "[]", "more ssh arguments"),
    "notify.after": ("duration", "30s", "a prompt waiting this long is told"),
    "notify.command": ("shell command", "none", "run at once for each new prompt, with "
                       "AGENTDECK_AGENT and AGENTDECK_SUMMARY"),
    "notify.events": ("list", "=notify.events", "which events are told"),
    "notify.desktop": ("boolean", "=notify.desktop", "a desktop notification"),
    "notify.sound": ("boolean", "=notify.sound", "a sound"),
    "notify.ntfy": ("mapping or topic", "none", "push through ntfy (below)"),
    "notify.webhook": ("mapping or URL", "none", "post to a webhook (below)"),
    "notify.action_ttl": ("duration", "15m", "how long a notification's Allow / Deny work"),
    "ntfy.topic": ("string", "required", "the topic (1 to 64 letters, digits, `-`, `_`)"),
    "ntfy.server": ("URL", "=notify.ntfy_server", "the ntfy server"),
    "webhook.url": ("URL", "required", "where events are posted"),
    "webhook.format": ("json \\| slack \\| discord", "=notify.webhook_format", "the body's "
                       "shape"),
}


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple | list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{}" if not value else ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _default(text: str) -> str:
    if not text.startswith("="):
        return text
    value: Any = empty_fleet()
    for name in text[1:].split("."):
        value = getattr(value, name)
    return _shown(value)


def render(sections: Sequence[tuple[str, str, str, tuple[str, ...]]] = SECTIONS,
           docs: Mapping[str, tuple[str, str, str]] = DOCS) -> str:
    keyed = {f"{sid}.{key}" for sid, _, _, keys in sections for key in keys}
    if missing := sorted(keyed - set(docs)):
        raise ValueError(f"keys of the schema with no line in reference.DOCS: {missing}")
    if stale := sorted(set(docs) - keyed):
        raise ValueError(f"reference.DOCS has lines for keys no section has: {stale}")
    out = ["# Configuration reference", "",
           "<!-- written by `python -m agentdeck.core.fleet.reference` from the fleet schema; "
           "do not edit -->", "",
           "Every key of the fleet file (`agentdeck.yaml`). Unknown keys are errors, with a "
           "did-you-mean. `agentdeck/sample_fleet.yaml` shows each one in use.", ""]
    for sid, heading, where, keys in sections:
        out += [f"## {heading}", ""] + ([f"Under {where}.", ""] if where else [])
        both = sid == "agent"
        out.append("| key | " + ("in | " if both else "") + "type | default | what it does |")
        out.append("|---|" + ("---|" if both else "") + "---|---|---|")
        for key in keys:
            shape, default, what = docs[f"{sid}.{key}"]
            cells = [f"`{key}`"]
            if both:
                cells.append(" + ".join(w for w, ks in (("defaults", entries.DEFAULT_KEYS),
                                                        ("agents", entries.AGENT_KEYS))
                                        if key in ks))
            cells += [shape, _default(default).replace("|", "\\|"), what]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    out += ["## Built-in agent kinds", "",
            "The commands `commands:` starts from (core/fleet/kinds.py); a fleet may change "
            "any of them or add its own kinds.", "",
            "| kind | command | resume |", "|---|---|---|"]
    for kind in KINDS.values():
        command = kind.command.replace("|", "\\|")
        out.append(f"| `{kind.name}` | `{command}` | {kind.resume or 'none'} |")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if argv == ["--check"]:
        current = OUT.read_text(encoding="utf-8") if OUT.is_file() else ""
        if current != text:
            print(f"{OUT} is out of date: python -m agentdeck.core.fleet.reference",
                  file=sys.stderr)
            return 1
        return 0
    if argv:
        print("usage: python -m agentdeck.core.fleet.reference [--check]", file=sys.stderr)
        return 2
    OUT.parent.mkdir(exist_ok=True)
    atomic_write(OUT, text)
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
