"""Answers to what a program asks its terminal.

Agents are written for Ghostty, iTerm2, kitty and WezTerm, and ask their terminal questions:
where is the cursor (Aider's prompt_toolkit warns "your terminal doesn't support cursor position
requests" and degrades without an answer), what are you (device attributes, XTVERSION), how big,
which colours, is this mode on. A pane that stays silent is a worse terminal, and the warnings
the agent prints then end up in what the detectors read. The session host answers them as the
bytes go through its emulator, in order, whether or not a dashboard is attached; mirrors of a
screen (the daemon's clients) never answer — the agent would get every answer twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from agentdeck import __version__
from agentdeck.core.terminal.base import Emulator

_QUERY = re.compile(
    rb"\x1b\[(?P<dsr>\??[56])n"  # device status / cursor position report
    rb"|\x1b\[(?P<da>[>=]?)0?c"  # device attributes: primary, secondary, tertiary
    rb"|\x1b\[>0?q"  # XTVERSION
    rb"|\x1b\[(?P<win>1[48])t"  # window size in cells (18) or pixels (14)
    rb"|\x1b\[\?(?P<mode>\d+)\$p"  # DECRQM: is this private mode set?
    rb"|\x1b\](?P<osc>1[01]);\?(?:\x07|\x1b\\\\)"  # foreground / background colour
)
CELL_PIXELS = (8, 16)  # what a window-size-in-pixels answer assumes for one cell
# the colours OSC 10/11 report: the dark themes' foreground and background
FOREGROUND, BACKGROUND = "rgb:e0e0/e0e0/e0e0", "rgb:1e1e/1e1e/1e1e"


def _mode_state(emulator: Emulator, mode: int) -> int:
    """DECRPM's answer: 1 set, 2 reset, 0 a mode this terminal does not know."""
    modes = emulator.modes()
    known = {1: modes.app_cursor, 25: modes.cursor_visible, 2004: modes.bracketed_paste,
             1049: modes.alt_screen, 47: modes.alt_screen, 1047: modes.alt_screen}
    if mode not in known:
        return 0
    return 1 if known[mode] else 2


def _answer(match: re.Match[bytes], emulator: Emulator) -> bytes:
    if match.group("dsr") is not None:
        if match.group("dsr").endswith(b"5"):
            return b"\x1b[0n"  # "OK"
        x, y = emulator.cursor()
        private = b"?" if match.group("dsr").startswith(b"?") else b""
        return b"\x1b[" + private + b"%d;%dR" % (y + 1, x + 1)
    if match.group("da") is not None:
        kind = match.group("da")
        if kind == b">":
            return b"\x1b[>1;10;0c"  # a VT220-class terminal, firmware 10
        if kind == b"=":
            return b"\x1bP!|00000000\x1b\\"
        return b"\x1b[?62;22c"  # VT220 with ANSI colour
    if match.group("win") is not None:
        if match.group("win") == b"18":
            return b"\x1b[8;%d;%dt" % (emulator.rows, emulator.cols)
        return b"\x1b[4;%d;%dt" % (emulator.rows * CELL_PIXELS[1], emulator.cols * CELL_PIXELS[0])
    if match.group("mode") is not None:
        mode = int(match.group("mode"))
        return b"\x1b[?%d;%d$y" % (mode, _mode_state(emulator, mode))
    if match.group("osc") is not None:
        colour = FOREGROUND if match.group("osc") == b"10" else BACKGROUND
        return b"\x1b]" + match.group("osc") + b";" + colour.encode() + b"\x1b\\"
    return f"\x1bP>|agentdeck {__version__}\x1b\\".encode()  # XTVERSION


def feed_answering(emulator: Emulator, data: bytes, reply: Callable[[bytes], None]) -> None:
    """Feed `data` to `emulator`, answering each query at the point it was asked (a cursor
    position is where the cursor is after the bytes before the question)."""
    if b"\x1b[" not in data and b"\x1b]" not in data:
        emulator.feed(data)
        return
    start = 0
    for match in _QUERY.finditer(data):
        if match.start() > start:
            emulator.feed(data[start:match.start()])
        start = match.end()
        reply(_answer(match, emulator))
    if start < len(data):
        emulator.feed(data[start:])
