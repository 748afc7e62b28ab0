"""The terminal emulator interface the sessions, detectors and panes share.

Two backends implement it: Ghostty's VT core (fast, complete) and pyte (pure Python, everywhere).
Rows come out as runs of equal style so a pane draws a row with a handful of segments, not one
per cell, and `take_dirty` tells the pane which rows changed since it last drew.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Protocol

# A colour is None (the default), a palette index 0-255, or an (r, g, b) triple.
Color = int | tuple[int, int, int] | None


@dataclass(frozen=True, slots=True)
class CellStyle:
    fg: Color = None
    bg: Color = None
    bold: bool = False
    dim: bool = False
    italic: bool = False
    underline: bool = False
    reverse: bool = False
    strike: bool = False
    link: str | None = None  # an OSC 8 hyperlink's target


PLAIN = CellStyle()


@dataclass(frozen=True, slots=True)
class Run:
    text: str  # as displayed: a wide character is one char taking two cells
    style: CellStyle


@dataclass(frozen=True, slots=True)
class Modes:
    app_cursor: bool = False  # DECCKM: arrows send ESC O A instead of ESC [ A
    bracketed_paste: bool = False  # 2004: wrap pasted text in ESC [200~ … ESC [201~
    alt_screen: bool = False  # 1049/47: a full-screen program owns the screen
    cursor_visible: bool = True
    focus_events: bool = False  # 1004: the program wants ESC [ I / ESC [ O on focus changes
    # the kitty keyboard protocol's flags the program set (CSI > flags u); None: the backend
    # does not parse the protocol, so it must not be claimed
    kitty_flags: int | None = None


def group_runs(chars: list[str], styles: list[CellStyle]) -> list[Run]:
    """Cells of a row (one char and one style each, styles shared by identity) as runs."""
    runs: list[Run] = []
    start = 0
    for i in range(1, len(styles)):
        if styles[i] is not styles[i - 1]:
            runs.append(Run("".join(chars[start:i]), styles[start]))
            start = i
    if chars:
        runs.append(Run("".join(chars[start:]), styles[start]))
    return runs


ERASE_SCROLLBACK = b"\x1b[3J"  # ED 3: the scrollback goes, the screen stays
_SGR_TEXT = re.compile("\x1b\\[[0-9;:]*m")


def plain_text(styled: str) -> str:
    """A line of text with SGR sequences (Emulator.styled_history) without them."""
    return _SGR_TEXT.sub("", styled) if "\x1b" in styled else styled


class Emulator(Protocol):
    cols: int
    rows: int
    scrollback_limit: int

    def feed(self, data: bytes) -> None:
        """Parse output bytes from the program."""

    def resize(self, cols: int, rows: int) -> None: ...

    def take_dirty(self) -> set[int]:
        """Viewport rows changed since the last call (all rows after resize or scroll)."""

    def row(self, y: int) -> list[Run]:
        """Viewport row `y` as style runs (reflects the scroll position)."""

    def row_end(self, y: int) -> int | None:
        """How many characters of viewport row `y` lead up to the last one the program wrote
        (the cells after it were never written), or None when the backend cannot tell."""

    def lines(self) -> list[str]:
        """The live screen (not the scrolled viewport) as text, trailing spaces removed."""

    def wrapped_rows(self) -> set[int] | None:
        """Rows of the live screen the terminal soft-wrapped onto the next row, or None when the
        backend does not track it (a row filled to the last column may then be either)."""

    def history(self, archived: bool = True) -> list[str]:
        """Scrollback lines above the live screen, oldest first; the last one is only the
        beginning of a line when `screen_continues_history()`. `archived=False`: only the
        lines the terminal itself still holds (see `archive_scrollback`)."""

    def styled_history(self, archived: bool = True) -> list[str]:
        """`history()` with each line's colours and attributes as SGR sequences (starting
        from a reset): what a replay prints, so a copy's scrollback keeps its colours."""

    def archive_scrollback(self) -> bool:
        """Move a long scrollback out of the terminal's grid into a compact archive of its
        lines (a grid costs several bytes a cell; the text is about its own length), clearing
        the grid's own as ED 3 does. Returns whether it did: the caller then sends ED 3 to
        whoever mirrors this screen, at the same point of the stream, so a mirror's grid
        holds what this one holds and a resize reflows both alike."""

    def screen_continues_history(self) -> bool:
        """Whether the screen's first row continues (soft-wrapped) the last scrollback line."""

    def cursor(self) -> tuple[int, int]:
        """(x, y) on the live screen."""

    def title(self) -> str:
        """The window title the program set (OSC 0 / OSC 2), or ""."""

    def modes(self) -> Modes: ...

    def scroll(self, delta: int) -> None:
        """Move the viewport into scrollback (negative = up); 0 lines = follow the live screen."""

    def scroll_to_bottom(self) -> None: ...

    @property
    def scroll_offset(self) -> int:
        """How many lines the viewport is above the live screen."""

    def close(self) -> None: ...


def text_of(emulator: Emulator) -> str:
    return "\n".join(emulator.lines())


def char_width(char: str) -> int:
    """Cells a character takes: 2 for East Asian wide and full-width, 0 for a combining mark."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def wrap_rows(text: str, cols: int) -> list[str]:
    """`text` cut into rows as a terminal `cols` wide soft-wraps it: a wide character that does
    not fit at the end of a row starts the next one."""
    rows, row, col = [], "", 0
    for char in text:
        width = char_width(char)
        if col + width > cols and row:
            rows.append(row)
            row, col = "", 0
        row += char
        col += width
    rows.append(row)
    return rows


def row_runs(rows: set[int] | list[int]) -> list[tuple[int, int]]:
    """Row numbers as (first, last) runs of adjacent rows, top down."""
    runs: list[tuple[int, int]] = []
    for y in sorted(rows):
        if runs and runs[-1][1] == y - 1:
            runs[-1] = (runs[-1][0], y)
        else:
            runs.append((y, y))
    return runs
