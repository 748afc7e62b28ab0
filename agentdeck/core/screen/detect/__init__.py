"""Prompt and state detection: a rendered screen in, a Detection out.

`detect(lines, agent)` runs the detector for the agent's kind (claude, codex, aider, gemini) and
falls back to the generic one; for other kinds (shell, custom commands) every detector is tried,
because a shell may be running any of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentdeck.core.screen.detect.base import (
    IDLE,
    KINDS,
    RATE_LIMITED,
    UNKNOWN,
    WAITING,
    WORKING,
    Detection,
    Prompt,
    Screen,
)

if TYPE_CHECKING:
    from agentdeck.core.screen.detect.dispatch import (
        ANSWER_HOLDS,
        ANY_OPENCODE,
        DETECTORS,
        detect,
    )

__all__ = [
    "ANSWER_HOLDS",
    "ANY_OPENCODE",
    "DETECTORS",
    "IDLE",
    "KINDS",
    "RATE_LIMITED",
    "UNKNOWN",
    "WAITING",
    "WORKING",
    "Detection",
    "Prompt",
    "Screen",
    "detect",
]


def __getattr__(name: str) -> object:
    # The detectors load when a screen is first read: a dashboard attached to the session host
    # (which reads the screens) and the quick commands only need the types above.
    if name in ("ANSWER_HOLDS", "ANY_OPENCODE", "DETECTORS", "detect"):
        from agentdeck.core.screen.detect import dispatch

        return getattr(dispatch, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
