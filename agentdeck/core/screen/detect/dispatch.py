"""Which detector reads a screen: the agent's own (with the generic one as its fallback), or
every one in turn for a shell or an unknown command."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from agentdeck.core.screen.detect import (
    aider,
    claude,
    codex,
    copilot,
    crush,
    gemini,
    generic,
    opencode,
)
from agentdeck.core.screen.detect.base import (
    IDLE,
    UNKNOWN,
    Detection,
    Screen,
)

DETECTORS: dict[str, Callable[[Screen], Detection]] = {
    "claude": claude.detect, "codex": codex.detect, "aider": aider.detect,
    "gemini": gemini.detect, "generic": generic.detect,
    "opencode": opencode.detector("opencode"), "kilo": opencode.detector("kilo"),
    "qwen": gemini.detect_qwen, "copilot": copilot.detect, "crush": crush.detect,
}
ANY_OPENCODE = opencode.detector(None)  # opencode or Kilo, told apart by the screen


def detect(lines: str | Sequence[str], agent: str | None = None,
           cursor_row: int | None = None, cols: int | None = None,
           wrapped: set[int] | None = None) -> Detection:
    """`cursor_row`, `cols` and `wrapped` describe the live screen, when known: the cursor
    tells a pending one-line question from an answered one; the soft-wrapped rows (or, failing
    those, the width) which rows to read as one line."""
    screen = Screen.of(lines if isinstance(lines, str) else list(lines), cursor_row, cols,
                       wrapped)
    if agent in DETECTORS and agent != "generic":
        found = DETECTORS[agent](screen)
        if found.prompt is None and found.state in (UNKNOWN, IDLE):
            fallback = generic.detect(screen)
            if fallback.prompt:
                return fallback
        return found
    best = Detection(UNKNOWN)
    menu: Detection | None = None
    # (Copilot's dialogs read like Claude Code's; its own footer tells them apart)
    for name in ("copilot", "claude", "codex", "gemini", "opencode", "crush", "aider",
                 "generic"):
        found = (ANY_OPENCODE if name == "opencode" else DETECTORS[name])(screen)
        if found.prompt and found.prompt.agent != "generic":
            return found
        if found.prompt and menu is None:
            menu = found  # any program's menu: unless a detector knows this dialog itself
        if best.state == UNKNOWN and found.state != UNKNOWN:
            best = found
    return menu or best
