"""The agent CLIs agentdeck knows by name: how each is installed, and whether agentdeck's
end-to-end scenario has run it here (its real binary, offline, against a scripted model) or
its detector was built from its source and documentation alone.

`agentdeck doctor`, `agentdeck init` and the spawn dialog read this one table; the command line
each kind starts with is the fleet's (`commands:`, defaults in config.BUILTIN_COMMANDS).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgentKind:
    name: str
    executable: str
    install: str
    verified: str | None  # the version the e2e scenario ran; None: built from source only
    why_unverified: str = ""


KINDS: dict[str, AgentKind] = {kind.name: kind for kind in (
    AgentKind("claude", "claude", "npm install -g @anthropic-ai/claude-code", "2.1.328"),
    AgentKind("codex", "codex", "npm install -g @openai/codex", "0.169.0"),
    AgentKind("gemini", "gemini", "npm install -g @google/gemini-cli", "0.61.0"),
    AgentKind("aider", "aider", "python -m pip install aider-install && aider-install",
              "0.86.2"),
    AgentKind("opencode", "opencode", "npm install -g opencode-ai", "1.18.33"),
    AgentKind("kilo", "kilo", "npm install -g @kilocode/cli", "7.7.7"),
    AgentKind("qwen", "qwen", "npm install -g @qwen-code/qwen-code", "0.24.4"),
    AgentKind("copilot", "copilot", "npm install -g @github/copilot", "1.0.102"),
    AgentKind("crush", "crush", "npm install -g @charmland/crush", None,
              "read from its source; its installer fetches the binary from GitHub, out of "
              "reach of agentdeck's test machine"),
)}
