"""Terminal emulators behind one interface: Ghostty's VT core where its wheel loads, else pyte."""

from __future__ import annotations

import functools
import os

from agentdeck.core.screen.terminal.base import (
    PLAIN,
    CellStyle,
    Color,
    Emulator,
    Modes,
    Run,
    text_of,
)

__all__ = ["PLAIN", "CellStyle", "Color", "Emulator", "Modes", "Run", "backends", "make_emulator",
           "text_of"]


@functools.cache
def backends() -> list[str]:
    """The backends that load here, the fastest first (loading it, once)."""
    names = []
    try:
        import agentdeck.core.screen.terminal.ghostty  # noqa: F401
        names.append("ghostty")
    except (ImportError, OSError):
        pass
    names.append("pyte")
    return names


def make_emulator(cols: int = 80, rows: int = 24, scrollback: int = 10_000,
                  backend: str | None = None, archive: bool = True) -> Emulator:
    """`backend` (or AGENTDECK_EMULATOR) picks one; by default the fastest that loads.
    `archive=False`: the scrollback stays where the viewport scrolls through it (see
    Emulator.archive_scrollback)."""
    wanted = backend or os.environ.get("AGENTDECK_EMULATOR") or backends()[0]
    if wanted == "ghostty":
        from agentdeck.core.screen.terminal.ghostty import GhosttyEmulator

        return GhosttyEmulator(cols, rows, scrollback, archive=archive)
    if wanted == "pyte":
        from agentdeck.core.screen.terminal.pyte_backend import PyteEmulator

        return PyteEmulator(cols, rows, scrollback)
    raise ValueError(f"unknown terminal emulator backend {wanted!r} (ghostty or pyte)")
