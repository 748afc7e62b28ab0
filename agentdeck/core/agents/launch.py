"""From an agent in the registry to the command line and environment its session starts with."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from agentdeck import __version__
from agentdeck.core.agents.programs import command_program
from agentdeck.core.agents.sessions import SessionSpec
from agentdeck.core.errors import ConfigError
from agentdeck.core.fleet.kinds import BUILTIN_COMMANDS, KINDS, SHELL_PROGRAMS, acp_template
from agentdeck.core.fleet.registry import AgentRecord
from agentdeck.core.fleet.spec import Fleet
from agentdeck.core.isolation.envfiles import read_env
from agentdeck.core.isolation.envpolicy import inherited, spec_of


def channel_of(fleet: Fleet, rec: AgentRecord) -> str:
    """How the agent is driven: "pty" or "acp" — its fleet entry's `channel`, else what it was
    made with (an agent spawned outside the fleet file keeps it in its registry record)."""
    entry = fleet.agent(rec.name)
    return entry.channel if entry is not None else rec.channel


def template_for(fleet: Fleet, rec: AgentRecord, resume: bool = False) -> str | None:
    """The command template; with `resume`, the fleet's `resume:` command for its kind when it
    gives one (an agent that ran before carries on its conversation). An ACP agent's is its
    kind's ACP command (kinds.acp_template): it resumes through the protocol (session/load)."""
    if channel_of(fleet, rec) == "acp":
        return acp_template(rec.agent, fleet.commands)
    template = fleet.resume.get(rec.agent) if resume else None
    return template or fleet.commands.get(rec.agent)


def is_shell(fleet: Fleet | None, agent: str) -> bool:
    """Whether an agent kind is a plain shell — the one definition messages, tasks and review
    comments all go by: whatever is typed into a shell runs as a command, so no task or review
    comment is ever typed into one, and a message the user sends is typed line by line (each
    line a command). The program its command starts decides (`myshell: /bin/sh` is one, and
    the registry's `shell` kind, whose command is `bash`); without a command (no fleet, or none
    for that kind) the registry's kind, or a shell program's name. `fleet` None: the built-in
    commands only."""
    commands = fleet.commands if fleet is not None else BUILTIN_COMMANDS
    template = commands.get(agent)
    if not template:
        return KINDS[agent].shell if agent in KINDS else agent in SHELL_PROGRAMS
    return Path(command_program(template)).name in SHELL_PROGRAMS


def takes_task(template: str) -> bool:
    """Whether the command line carries the task (else it is typed as the first message)."""
    return "{task}" in template or "{prompt}" in template


def command_for(fleet: Fleet, rec: AgentRecord, resume: bool = False,
                brief: tuple[str, Path] | None = None) -> list[str]:
    template = template_for(fleet, rec, resume)
    if template is None:
        raise ConfigError(f"{rec.name}: no command for agent kind '{rec.agent}'; add "
                          f"commands.{rec.agent} to the fleet file")
    text, path = brief if brief else ("", None)
    task = None if resume else rec.task  # a resumed conversation has its task already
    prompt = "\n\n".join(x for x in (text, f"Your task: {task}" if task else "") if x)
    values = {"model": rec.model or fleet.role_models.get(rec.role), "task": task,
              "name": rec.name, "branch": rec.branch, "worktree": rec.worktree,
              "port": str(min(rec.port_numbers, default=0) or ""), "brief": text,
              "brief_file": str(path) if path else "", "prompt": None if resume else prompt}
    argv: list[str] = []
    for token in shlex.split(template):
        missing = [k for k, v in values.items() if "{" + k + "}" in token and not v]
        if missing:
            # "--model {model}" without a model: drop the flag with its value
            if argv and argv[-1].startswith("-") and "=" not in argv[-1]:
                argv.pop()
            continue
        try:
            argv.append(token.format(**{k: v or "" for k, v in values.items()}))
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"commands.{rec.agent}: '{template}' may use {{model}}, {{task}}, "
                              f"{{brief}}, {{brief_file}}, {{prompt}}, {{name}}, {{branch}}, "
                              f"{{worktree}} and {{port}} ({exc})") from None
    return argv


def environment_for(fleet: Fleet, rec: AgentRecord,
                    base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The user's environment (less what the fleet names for other agents), then the
    worktree's .env copies, then the managed .env.local. Raises when a ${VAR} the agent's
    entry uses is not set."""
    spec = spec_of(fleet, rec.name)
    spec.check_env()
    env = inherited(fleet, rec.name, base)
    worktree = Path(rec.worktree)
    for name in (*spec.env_copy, fleet.env_file):
        if not name.endswith((".json", ".yml", ".yaml", ".toml")):
            # no link followed: one the agent planted must not read a file of the user's
            # (a key, /proc/self/environ) into its own environment
            env.update(read_env(worktree / name, worktree))
    env.update({"AGENTDECK_AGENT": rec.name, "AGENTDECK_BRANCH": rec.branch})
    return terminal_environment(env)


# Variables that tell a program it runs inside another multiplexer or terminal: the dashboard's
# own (agentdeck inside tmux, inside kitty) must not reach agents, which then print hints for
# that terminal ("tmux focus-events off") or talk its private protocols to agentdeck's pane.
FOREIGN_TERMINAL = ("TMUX", "TMUX_PANE", "STY", "TERM_SESSION_ID", "WEZTERM_PANE",
                    "WEZTERM_EXECUTABLE", "WEZTERM_UNIX_SOCKET", "KITTY_WINDOW_ID",
                    "KITTY_PID", "KITTY_LISTEN_ON", "KITTY_PUBLIC_KEY", "ITERM_SESSION_ID",
                    "ITERM_PROFILE", "LC_TERMINAL", "LC_TERMINAL_VERSION", "VTE_VERSION",
                    "GHOSTTY_RESOURCES_DIR", "GHOSTTY_BIN_DIR", "ALACRITTY_SOCKET",
                    "ALACRITTY_WINDOW_ID", "ALACRITTY_LOG", "WT_SESSION", "WT_PROFILE_ID",
                    "ZELLIJ", "ZELLIJ_SESSION_NAME", "ZELLIJ_PANE_ID", "TERMINAL_EMULATOR",
                    "KONSOLE_VERSION", "KONSOLE_DBUS_SESSION", "TERM_PROGRAM_VERSION",
                    "COLUMNS", "LINES", "TEXTUAL_DRIVER")


def terminal_environment(env: dict[str, str]) -> dict[str, str]:
    """The terminal an agent finds itself in: agentdeck's pane, a true-colour xterm-256color
    terminal, and nothing of whatever terminal the dashboard itself runs in."""
    clean = {k: v for k, v in env.items() if k not in FOREIGN_TERMINAL}
    clean.update({"TERM": "xterm-256color", "COLORTERM": "truecolor",
                  "TERM_PROGRAM": "agentdeck", "TERM_PROGRAM_VERSION": __version__})
    return clean


def session_spec(fleet: Fleet, rec: AgentRecord, cols: int = 100, rows: int = 30,
                 resume: bool = False, brief: tuple[str, Path] | None = None) -> SessionSpec:
    channel = channel_of(fleet, rec)
    prompt = None
    if channel == "acp" and not resume:  # its brief and task: the first prompt of its session
        text = brief[0] if brief else ""
        prompt = "\n\n".join(x for x in (text, f"Your task: {rec.task}" if rec.task else "")
                              if x) or None
    return SessionSpec(name=rec.name, argv=command_for(fleet, rec, resume, brief),
                       cwd=rec.worktree,
                       env=environment_for(fleet, rec), agent=rec.agent, cols=cols, rows=rows,
                       scrollback=fleet.dashboard.scrollback, channel=channel, prompt=prompt,
                       resume=resume, forbid=tuple(rec.forbid) if channel == "acp" else ())
