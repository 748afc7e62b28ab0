"""Installing the PermissionRequest hooks that point an agent at the dashboard.

Claude Code takes extra settings from its `--settings <file>` flag, merged over the user's own:
agentdeck writes its hook to a file of the agent's under the registry folder (0600) and passes
that flag, so nothing is written into the user's checkout or worktrees (a hook file left in a
folder would outlive agentdeck, and makes Claude's trust dialog warn that the folder
"configures hooks"). Codex CLI only runs hooks it trusts, by a hash of the hook recorded in a
user-controlled config layer; agentdeck passes hook and trust together as one `-c hooks={…}`
flag on the command line it starts, so neither the repository nor the user's ~/.codex changes.
A hook that the agent does not run (a newer Codex hashing differently, say) costs nothing: the
agent asks in its own screen and the screen detector takes over.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any

from agentdeck.core.files import write_private

HOOKS_DIR = "hooks"  # under the registry folder: the settings files agentdeck hands agents
MARK = "agentdeck hook permission-request"
# Codex's key for hooks given with -c: "<config path of the layer>:<event>:<group>:<handler>"
CODEX_FLAGS_SOURCE = "/<session-flags>/config.toml"


def hook_command(agent: str, cli: str, socket: Path, timeout: float) -> str:
    """The shell command the agent runs; `agentdeck` resolved to this installation."""
    exe = Path(sys.argv[0]).resolve() if Path(sys.argv[0]).name == "agentdeck" else None
    base = [str(exe)] if exe and exe.is_file() else [sys.executable, "-m", "agentdeck"]
    argv = [*base, "hook", "permission-request", "--agent", agent, "--cli", cli,
            "--socket", str(socket), "--timeout", f"{timeout:g}"]
    return shlex.join(argv)


# Claude Code's hooks that tell what state the agent is in: events, not answers. The screen
# still confirms them (Claude sends no Stop after an API error or an interrupt).
CLAUDE_EVENTS = ("Stop", "Notification", "UserPromptSubmit", "SessionStart")


def event_command(command: str) -> str:
    """The state-event hook's command, from the permission hook's: same program, agent and
    socket, no waiting."""
    argv = shlex.split(command)
    argv[argv.index("permission-request")] = "event"
    if "--timeout" in argv:
        at = argv.index("--timeout")
        del argv[at: at + 2]
    return shlex.join(argv)


def claude_settings(state_dir: Path, agent: str, command: str, timeout: float) -> Path:
    """Write agentdeck's hook settings for one Claude Code agent (rewritten on every start):
    the PermissionRequest hook that answers, and the state events that inform."""
    folder = state_dir / HOOKS_DIR
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    # the agent's own limit must outlast ours, so our timeout is the one that ends the wait
    hooks: dict[str, Any] = {"PermissionRequest": [
        {"matcher": "*", "hooks": [{"type": "command", "command": command,
                                    "timeout": int(timeout) + 30}]}]}
    event = event_command(command)
    for name in CLAUDE_EVENTS:
        hooks[name] = [{"hooks": [{"type": "command", "command": event, "timeout": 10}]}]
    settings = {"hooks": hooks}
    path = folder / claude_settings_name(agent)
    write_private(path, json.dumps(settings, indent=2) + "\n")
    return path


def claude_settings_name(agent: str) -> str:
    return f"{agent}.claude-settings.json"


def with_claude_settings(argv: list[str], path: Path) -> list[str]:
    """The claude command line with `--settings <path>` right after the program name (the
    user's own --settings, if any, is kept: Claude Code merges both)."""
    if not argv:
        return argv
    return [argv[0], "--settings", str(path), *argv[1:]]


def codex_trust_hash(event: str, group: dict[str, Any]) -> str:
    """Codex's trust hash of one hook: its normalized identity as canonical JSON, sha256."""
    identity = {"event_name": event, **group}
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


# Codex CLI's state events (config name, the snake_case name its trust key and hash use): as for
# Claude Code, they inform the detector; the screen confirms
CODEX_EVENTS = (("Stop", "stop"), ("UserPromptSubmit", "user_prompt_submit"),
                ("SessionStart", "session_start"))


def codex_flags(command: str, timeout: float) -> list[str]:
    """`-c hooks={…}`: our PermissionRequest hook, the state-event hooks, and the trust records
    that let them run (Codex runs only hooks whose hash a user-controlled layer records)."""
    handler = {"type": "command", "command": command, "timeout": int(timeout) + 30,
               "async": False}
    permission = {"hooks": [handler]}
    groups: dict[str, list[dict[str, Any]]] = {"PermissionRequest": [permission]}
    state = {f"{CODEX_FLAGS_SOURCE}:permission_request:0:0":
             {"trusted_hash": codex_trust_hash("permission_request", permission)}}
    event = {"type": "command", "command": event_command(command), "timeout": 10,
             "async": False}
    for name, key in CODEX_EVENTS:
        group = {"hooks": [event]}
        groups[name] = [group]
        state[f"{CODEX_FLAGS_SOURCE}:{key}:0:0"] = {"trusted_hash": codex_trust_hash(key, group)}
    return ["-c", "hooks=" + _toml_inline({**groups, "state": state})]


def with_codex_hook(argv: list[str], command: str, timeout: float) -> list[str]:
    """The codex command line with the hook flags right after the program name, so they
    apply whatever subcommand or prompt follows."""
    if not argv or any(a.startswith("hooks=") for a in argv):
        return argv  # the user configures hooks on the command line themselves
    return [argv[0], *codex_flags(command, timeout), *argv[1:]]


def _toml_inline(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_inline(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_inline(k)} = {_toml_inline(v)}"
                               for k, v in value.items()) + "}"
    raise TypeError(f"no TOML form for {value!r}")
