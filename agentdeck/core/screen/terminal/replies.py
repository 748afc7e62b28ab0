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
from agentdeck.core.screen.terminal.base import Emulator

# Two scans, each starting from a literal (the regex engine then leaps from one CSI or OSC to
# the next), and a CSI only looked into when its first bytes can begin a query: the colours of
# ordinary output (CSI 1;31m, CSI 0m) cost a byte or two's look each. One pattern of all the
# queries ran at a third of the emulator's speed; this one at several times it.
_CSI_QUERY = re.compile(
    rb"\x1b\[(?=[?>=c]|[56]n|0c|1[48]t)(?:"
    rb"(?P<dsr>\??[56])n"  # device status / cursor position report
    rb"|(?P<da>[>=]?)0?c"  # device attributes: primary, secondary, tertiary
    rb"|>0?q"  # XTVERSION
    rb"|(?P<win>1[48])t"  # window size in cells (18) or pixels (14)
    rb"|\?(?P<mode>\d+)\$p"  # DECRQM: is this private mode set?
    rb"|\?(?P<kitty>)u)"  # kitty keyboard protocol: which flags are on?
)
_OSC_QUERY = re.compile(
    rb"\x1b\](?:(?P<osc>1[01]);\?(?:\x07|\x1b\\\\)"  # foreground / background colour
    rb"|4;(?P<palette>\d{1,3});\?(?:\x07|\x1b\\\\))"  # a palette colour
)
CELL_PIXELS = (8, 16)  # what a window-size-in-pixels answer assumes for one cell
# the colours OSC 10/11 report: the dark themes' foreground and background
FOREGROUND, BACKGROUND = "rgb:e0e0/e0e0/e0e0", "rgb:1e1e/1e1e/1e1e"


def _mode_state(emulator: Emulator, mode: int) -> int:
    """DECRPM's answer: 1 set, 2 reset, 0 a mode this terminal does not know."""
    modes = emulator.modes()
    known = {1: modes.app_cursor, 25: modes.cursor_visible, 2004: modes.bracketed_paste,
             1049: modes.alt_screen, 47: modes.alt_screen, 1047: modes.alt_screen,
             1004: modes.focus_events,
             2026: False}  # synchronized output: supported (a frame is open only mid-update)
    if mode not in known:
        return 0
    return 1 if known[mode] else 2


def palette_colour(n: int) -> tuple[int, int, int]:
    """xterm's default 256-colour palette (what the panes draw a palette index with)."""
    if n < 16:
        base = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205),
                (0, 205, 205), (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0),
                (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255)]
        return base[n]
    if n < 232:
        steps = (0, 95, 135, 175, 215, 255)
        n -= 16
        return steps[n // 36], steps[n // 6 % 6], steps[n % 6]
    grey = 8 + 10 * (n - 232)
    return grey, grey, grey


def _queries(data: bytes, csi: bool, osc: bool) -> list[re.Match[bytes]]:
    """The queries in `data`, in order (`csi`, `osc`: whether it holds a CSI, an OSC)."""
    found = list(_CSI_QUERY.finditer(data)) if csi else []
    if osc:
        found += _OSC_QUERY.finditer(data)
        found.sort(key=lambda match: match.start())
    return found


def _answer(match: re.Match[bytes], emulator: Emulator) -> bytes | None:
    group = match.groupdict().get
    if group("dsr") is not None:
        if group("dsr").endswith(b"5"):  # type: ignore[union-attr]
            return b"\x1b[0n"  # "OK"
        x, y = emulator.cursor()
        private = b"?" if group("dsr").startswith(b"?") else b""  # type: ignore[union-attr]
        return b"\x1b[" + private + b"%d;%dR" % (y + 1, x + 1)
    if group("da") is not None:
        kind = group("da")
        if kind == b">":
            return b"\x1b[>1;10;0c"  # a VT220-class terminal, firmware 10
        if kind == b"=":
            return b"\x1bP!|00000000\x1b\\"
        return b"\x1b[?62;22c"  # VT220 with ANSI colour
    if group("win") is not None:
        if group("win") == b"18":
            return b"\x1b[8;%d;%dt" % (emulator.rows, emulator.cols)
        return b"\x1b[4;%d;%dt" % (emulator.rows * CELL_PIXELS[1], emulator.cols * CELL_PIXELS[0])
    if group("mode") is not None:
        mode = int(group("mode"))  # type: ignore[arg-type]
        return b"\x1b[?%d;%d$y" % (mode, _mode_state(emulator, mode))
    if group("osc") is not None:
        colour = FOREGROUND if group("osc") == b"10" else BACKGROUND
        return b"\x1b]" + group("osc") + b";" + colour.encode() + b"\x1b\\"  # type: ignore[operator]
    if group("palette") is not None:
        n = int(group("palette"))  # type: ignore[arg-type]
        if n > 255:
            return None
        r, g, b = palette_colour(n)
        return b"\x1b]4;%d;rgb:%02x%02x/%02x%02x/%02x%02x\x1b\\" % (n, r, r, g, g, b, b)
    if group("kitty") is not None:
        flags = emulator.modes().kitty_flags
        # a backend that does not follow the protocol stays silent: the program keeps to
        # legacy keys, as it would in a terminal without the protocol
        return None if flags is None else b"\x1b[?%du" % flags
    return f"\x1bP>|agentdeck {__version__}\x1b\\".encode()  # XTVERSION


def feed_answering(emulator: Emulator, data: bytes, reply: Callable[[bytes], None]) -> None:
    """Feed `data` to `emulator`, answering each query at the point it was asked (a cursor
    position is where the cursor is after the bytes before the question)."""
    # (each searched once; an OSC's `]` looked for first, one byte at memory speed: a search
    # for the two bytes through a flood without one cost half the CSI scan's time)
    # (no pre-search of the queries' starts: eight substring searches through a read cost three
    # times the regex, each stopping at every ESC)
    csi, osc = b"\x1b[" in data, b"]" in data and b"\x1b]" in data
    if not (csi or osc):
        emulator.feed(data)
        return
    start = 0
    for match in _queries(data, csi, osc):
        if match.start() > start:
            emulator.feed(data[start:match.start()])
        start = match.end()
        answer = _answer(match, emulator)
        if answer is not None:
            reply(answer)
    if start < len(data):
        emulator.feed(data[start:])
