"""Which detector reads a screen: the agent's own (with the generic one as its fallback), or
every one in turn for a shell or an unknown command.

Each agent kind names its detector in core/fleet/kinds.py (each built-in kind's is the one of
its own name, which the session's watcher passes): the registry sits in a higher layer, so this
table is keyed by those names and a test checks that every kind's detector is here."""

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

# by name, in the order a screen whose program is unknown is tried: Copilot CLI's before Claude
# Code's (its dialogs read like Claude Code's; its own footer tells them apart), the generic one
# (any program's menu) last
DETECTORS: dict[str, Callable[[Screen], Detection]] = {
    "copilot": copilot.detect, "claude": claude.detect, "codex": codex.detect,
    "gemini": gemini.detect, "qwen": gemini.detect_qwen,
    "opencode": opencode.detector("opencode"), "kilo": opencode.detector("kilo"),
    "crush": crush.detect, "aider": aider.detect, "generic": generic.detect,
}
# how long a dialog drawn again right after its answer must stay before it is a new question,
# by the detector that read it (an agent that acknowledges an answer above its dialog before
# taking the dialog down: codex.ANSWER_ECHO_HOLD)
ANSWER_HOLDS: dict[str, float] = {"codex": codex.ANSWER_ECHO_HOLD}
ANY_OPENCODE = opencode.detector(None)  # opencode or Kilo, told apart by the screen
# that order, with one detector for opencode and Kilo, and Gemini CLI's for Qwen Code too (its
# box is Gemini's; the wording tells them apart)
_SCAN = tuple(ANY_OPENCODE if name == "opencode" else found for name, found in DETECTORS.items()
              if name not in ("kilo", "qwen"))


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
    for each in _SCAN:
        found = each(screen)
        if found.prompt and found.prompt.agent != "generic":
            return found
        if found.prompt and menu is None:
            menu = found  # any program's menu: unless a detector knows this dialog itself
        if best.state == UNKNOWN and found.state != UNKNOWN:
            best = found
    return menu or best
