"""Every agent kind agentdeck knows by name, and all it knows about each: the program, how to
install it, the version agentdeck's end-to-end scenario verified (its real binary, offline,
against a scripted model) or why none was, the command line a fleet starts from
(`commands:`) and the one that resumes a conversation (`resume:`), its ACP command, which
detector reads its screen, whether it takes agentdeck's approval hook, how its usage is read,
and whether it is a plain shell. Everything else — the fleet's default commands, `doctor`,
`init`, the spawn dialog, the hook's CLIs, scripts/install_agents.sh, the e2e versions, the
README's agents table — derives from this one table, or a test checks it against it.

Why here, not in core/agents/: the groups of core stand in layers (leaf < screen < fleet < git
< isolation < agents < …, tests/test_core_layers.py), and the fleet schema, which needs each
kind's default command, sits below core/agents/. And why by name: this module imports nothing
but the standard library, because `agentdeck hook` (run on every tool call of every agent) and
scripts/install_agents.sh (run by a bare `python3` before any virtualenv exists) read it. So
it names what lives elsewhere instead of importing it: the detector by its key in
core/screen/detect/dispatch.DETECTORS, the usage reader by its key in
core/agents/usage.READERS; tests/test_kinds.py checks that every name resolves.

`python -m agentdeck.core.fleet.kinds --versions` prints the verified versions as shell
assignments (CLAUDE=2.1.328 …, and the adapters as CLAUDE_ACP=package@version), which
scripts/install_agents.sh reads.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import NamedTuple

# The programs that are shells: an agent whose command starts one is a plain shell (whatever is
# typed into it runs as a command), and a command that runs one with -c runs its argument
# (approval rules look inside it).
SHELL_PROGRAMS = frozenset({"bash", "zsh", "sh", "fish", "dash", "ksh", "mksh", "ash", "tcsh",
                            "csh", "nu", "elvish", "xonsh", "busybox"})


# a NamedTuple, not a dataclass: `agentdeck hook` reads this on every tool call, and dataclasses
# would load inspect (~9 ms) for it
class AgentKind(NamedTuple):
    name: str  # the fleet file's `agent:` value
    executable: str
    command: str  # the command template the fleet's `commands:` starts from
    install: str | None = None  # None: nothing to install (the shell)
    verified: str | None = None  # the version the e2e scenario ran; None: not run here
    why_unverified: str = ""
    resume: str | None = None  # the template that carries on a conversation (`resume:`)
    acp: str | None = None  # the command that speaks the Agent Client Protocol (stdio)
    # the npm package (name@version, verified as `verified` is) that gives a kind its ACP mode
    # when the CLI has none of its own: `acp` then runs the adapter's program
    adapter: str | None = None
    detector: str | None = None  # a key of dispatch.DETECTORS; None: every detector in turn
    hook: bool = False  # takes agentdeck's PermissionRequest hook on its command line
    usage: str | None = None  # a key of core/agents/usage.READERS; None: not known
    shell: bool = False  # a plain shell: no task or review comment is ever typed into it


KINDS: dict[str, AgentKind] = {kind.name: kind for kind in (
    # ask before every tool (Claude Code's auto mode would answer most prompts itself); the
    # brief (task, scope, roster) as an appended system prompt, the task as the first message
    AgentKind("claude", "claude", "claude --permission-mode default --model {model} "
              "--append-system-prompt {brief} {task}",
              "npm install -g @anthropic-ai/claude-code", "2.1.328",
              detector="claude", hook=True, usage="claude",
              # its adapter runs the Claude Code of its own SDK (2.1.83 in 0.23.1) and picks
              # the model from Claude Code's settings (`model`): it has no flag for one, and
              # sets its choice over ANTHROPIC_MODEL
              acp="claude-agent-acp",
              adapter="@zed-industries/claude-agent-acp@0.23.1"),
    AgentKind("codex", "codex", "codex --model {model} {prompt}",
              "npm install -g @openai/codex", "0.169.0",
              detector="codex", hook=True, usage="codex",
              acp="codex-acp -c model={model}", adapter="@zed-industries/codex-acp@0.16.0"),
    AgentKind("gemini", "gemini", "gemini -m {model} -i {prompt}",
              "npm install -g @google/gemini-cli", "0.61.0", detector="gemini",
              acp="gemini --acp -m {model}"),
    # the brief as a read-only file; the task is typed as the first message once it is ready
    AgentKind("aider", "aider", "aider --model {model} --read {brief_file}",
              "python -m pip install aider-install && aider-install", "0.86.2",
              detector="aider", usage="aider"),
    # brief and task as the first message, submitted by the CLI itself once it is ready;
    # opencode runs commands and edits without asking unless told to ask (Kilo asks)
    AgentKind("opencode", "opencode", """env 'OPENCODE_PERMISSION={{"bash":"ask","edit":"ask"}}' """
              "opencode --model {model} --prompt {prompt}",
              "npm install -g opencode-ai", "1.18.33", detector="opencode",
              acp="""env 'OPENCODE_PERMISSION={{"bash":"ask","edit":"ask"}}' opencode acp"""),
    AgentKind("kilo", "kilo", "kilo --model {model} --prompt {prompt}",
              "npm install -g @kilocode/cli", "7.7.7", detector="kilo", acp="kilo acp"),
    # ask before every change (their default modes have a model decide what to allow)
    AgentKind("qwen", "qwen", "qwen --approval-mode default --model {model} -i {prompt}",
              "npm install -g @qwen-code/qwen-code", "0.24.4", detector="qwen",
              acp="qwen --acp --approval-mode default --model {model}"),
    AgentKind("copilot", "copilot", "copilot --model {model} -i {prompt}",
              "npm install -g @github/copilot", "1.0.102", detector="copilot",
              acp="copilot --acp --model {model}"),
    # no first-message flag: the task is typed once its input box is up
    AgentKind("crush", "crush", "crush", "npm install -g @charmland/crush", None,
              "read from its source; its installer fetches the binary from GitHub, out of "
              "reach of agentdeck's test machine", detector="crush"),
    # a shell may be running any agent: its screen is read by every detector in turn
    AgentKind("shell", "bash", "bash", shell=True),
)}
# the agent CLIs: every kind but the plain shell
CLIS: dict[str, AgentKind] = {name: kind for name, kind in KINDS.items() if not kind.shell}
BUILTIN_COMMANDS: dict[str, str] = {name: kind.command for name, kind in KINDS.items()}
BUILTIN_RESUME: dict[str, str] = {name: kind.resume for name, kind in KINDS.items()
                                  if kind.resume}
# the kinds that speak the Agent Client Protocol, and the command that starts each in that mode
# (each flag read from the verified version's --help: gemini and qwen `--acp`, whose older
# `--experimental-acp` gemini 0.61 calls deprecated; `opencode acp`, `kilo acp`; copilot
# `--acp`; qwen asks before edits only in its default approval mode; Claude Code and Codex
# through their adapters on npm (`adapter`: claude-agent-acp, whose only option is
# --hide-claude-auth; codex-acp, whose only option is -c key=value); each run by
# tests/e2e/test_acp_agents.py).
BUILTIN_ACP: dict[str, str] = {name: kind.acp for name, kind in KINDS.items() if kind.acp}
# the kinds whose hook agentdeck installs (the `--cli` of `agentdeck hook`)
HOOK_KINDS: tuple[str, ...] = tuple(name for name, kind in KINDS.items() if kind.hook)


def detector_of(agent: str) -> str | None:
    """The detector that reads `agent`'s screens: its kind's, else the name itself (a kind of
    the fleet's own `commands:`, for which dispatch runs every detector in turn)."""
    kind = KINDS.get(agent)
    return kind.detector if kind is not None else agent


def acp_template(agent: str, commands: Mapping[str, str]) -> str | None:
    """The command template that starts `agent` speaking ACP: a kind of the fleet's own
    `commands:` (or a built-in kind whose command the fleet replaced) is taken as written;
    a built-in kind's is its ACP command; None when it has none."""
    command = commands.get(agent)
    if command is not None and command != BUILTIN_COMMANDS.get(agent):
        return command
    return BUILTIN_ACP.get(agent)


def versions() -> dict[str, str]:
    """The verified version of each CLI that has one."""
    return {name: kind.verified for name, kind in CLIS.items() if kind.verified}


def adapters() -> dict[str, str]:
    """The ACP adapter package (name@version) of each kind that speaks ACP through one."""
    return {name: kind.adapter for name, kind in CLIS.items() if kind.adapter}


def main(argv: list[str]) -> int:
    if argv != ["--versions"]:
        print("usage: python -m agentdeck.core.fleet.kinds --versions", file=sys.stderr)
        return 2
    for name, version in versions().items():
        print(f"{name.upper()}={version}")
    for name, package in adapters().items():
        print(f"{name.upper()}_ACP={package}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
