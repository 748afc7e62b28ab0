"""Ghostty's screen rows read in bulk: one call has Ghostty's own formatter write the viewport as
text with SGR attributes, parsed here into runs — instead of one FFI call per cell, which took
most of a pane's redraw (a full 120x40 screen: ~6 ms cell by cell). The formatter leaves out
hyperlinks, so a row that holds one is still read cell by cell (ghostty.py).

The runs show what the cell-by-cell reader's show: equal styles are one CellStyle object, a
wide character is one char, a row ends with plain blanks up to its width, and `written` counts
the characters up to the last one written. One difference is checked for: the formatter writes
a never-written cell inside a row as a space in the style before it, which shows when that
style has a background, reverse video, an underline or a strike (a program that moved the
cursor past cells after a coloured run); such a row is read cell by cell instead.
"""

from __future__ import annotations

import re
from typing import Any

from pyghostty._ffi import check, ffi, lib, union_fn
from pyghostty.core import init_sized

from agentdeck.core.screen.terminal.base import PLAIN, CellStyle, Color, Run, char_width

_SGR = re.compile(rb"\x1b\[([0-9;:]*)m")
# joiners, variation selectors, skin tones, flags' regional indicators, tags
_COMPOSED = re.compile("[\u200c\u200d\ufe00-\ufe0f\U0001f1e6-\U0001f1ff\U0001f3fb-\U0001f3ff"
                       "\U000e0020-\U000e007f]")
_NON_ASCII = re.compile("[^\x00-\x7f]")
_PEN = re.compile(rb"\x1b\[0m(?:\x1b\[[0-9;:]*m)*")
_OSC = re.compile(rb"(?:\x1b\][^\x1b\x07]*(?:\x1b\\|\x07))*")  # the palette it writes first


class RowReader:
    def __init__(self, term: Any) -> None:
        self._term = term
        self._opts = init_sized("GhosttyTerminalSelectionFormatOptions")
        self._opts.emit = lib.GHOSTTY_FORMATTER_FORMAT_VT
        self._opts.unwrap, self._opts.trim = False, False
        self._sel = init_sized("GhosttySelection")
        self._opts.selection = self._sel
        self._buf = ffi.new("uint8_t[]", 1 << 16)
        self._history_opts: Any = None  # (made on first use: most emulators never need it)
        self._text_opts: Any = None  # (the same: only the session host's detectors read text)
        self._n = ffi.new("size_t*")
        self._styles: dict[bytes, CellStyle] = {b"": PLAIN}
        self._interned: dict[CellStyle, CellStyle] = {PLAIN: PLAIN}
        self._cell = ffi.new("GhosttyCell*")
        self._has_text = ffi.new("bool*")
        # a cell's grid ref, made without pyghostty's per-call allocations (ref() builds a
        # point and a sized ref struct each time: most of the check's cost)
        self._grid_ref = union_fn("ghostty_terminal_grid_ref",
                                  "GhosttyResult(*)(GhosttyTerminal, GhosttyPointS, "
                                  "GhosttyGridRef*)")
        self._point = ffi.new("GhosttyPointS*")
        self._point.tag = lib.GHOSTTY_POINT_TAG_VIEWPORT
        self._ref = init_sized("GhosttyGridRef")
        self._start = init_sized("GhosttyGridRef")
        self._end = init_sized("GhosttyGridRef")
        self.suspects: list[int] = []  # the last row's blanks that may be never-written cells

    def screen(self, cols: int, rows: int, first: int = 0) -> list[bytes]:
        """The viewport's rows `first` to `rows - 1` as Ghostty formats them (SGR and text)."""
        self._select(first, rows - 1, cols, lib.GHOSTTY_POINT_TAG_VIEWPORT)
        lines = self._format(self._opts)
        return (lines + [b""] * rows)[:rows - first]  # blank rows at the bottom are left out

    def text(self, first: int, last: int, cols: int) -> list[str]:
        """The live screen's rows `first` to `last` as plain text, trailing blanks removed."""
        if self._text_opts is None:
            self._text_opts = init_sized("GhosttyTerminalSelectionFormatOptions")
            self._text_opts.emit = lib.GHOSTTY_FORMATTER_FORMAT_PLAIN
            self._text_opts.unwrap, self._text_opts.trim = False, True
            self._text_opts.selection = self._sel
        self._select(first, last, cols, lib.GHOSTTY_POINT_TAG_ACTIVE)
        lines = [line.decode("utf-8", "replace") for line in self._format(self._text_opts,
                                                                          b"\n")]
        count = last - first + 1
        return (lines + [""] * count)[:count]

    def _select(self, first: int, last: int, cols: int, tag: int) -> None:
        """Select rows `first` to `last`, whole (grid refs made without pyghostty's per-call
        allocations)."""
        term, point = self._term._t[0], self._point
        point.tag = tag
        point.value.x, point.value.y = 0, first
        check(self._grid_ref(term, point[0], self._start), "grid_ref")
        point.value.x, point.value.y = cols - 1, last
        check(self._grid_ref(term, point[0], self._end), "grid_ref")
        point.tag = lib.GHOSTTY_POINT_TAG_VIEWPORT  # (never_written's)
        self._sel.start, self._sel.end = self._start[0], self._end[0]

    def history(self, cols: int, total: int) -> list[str]:
        """The `total` scrollback rows as the lines the program printed (soft wraps joined),
        each with its colours and attributes as SGR, starting from and ending in a reset."""
        return self.history_block(cols, total).decode("utf-8", "replace").split("\r\n")

    def history_block(self, cols: int, total: int) -> bytes:
        """`history`'s lines as Ghostty's formatter writes them: one block, joined by CRLF."""
        if self._history_opts is None:
            self._history_opts = init_sized("GhosttyTerminalSelectionFormatOptions")
            self._history_opts.emit = lib.GHOSTTY_FORMATTER_FORMAT_VT
            self._history_opts.unwrap, self._history_opts.trim = True, True
            self._history_opts.selection = self._sel
        term = self._term
        self._sel.start = term.ref(0, 0, "history")[0]
        self._sel.end = term.ref(cols - 1, total - 1, "history")[0]
        block = self._formatted(self._history_opts)
        # the formatter ends with a reset and the pen as it stands, which is no line's: the
        # last line then reads as it does with lines after it (as each block's last line must)
        pen = block.rfind(b"\x1b[0m")
        return block[:pen] if pen >= 0 and _PEN.fullmatch(block, pen) else block

    def _format(self, opts: Any, newline: bytes = b"\r\n") -> list[bytes]:
        return self._formatted(opts).split(newline)

    def _formatted(self, opts: Any) -> bytes:
        term = self._term
        while True:
            result = lib.ghostty_terminal_selection_format_buf(
                term._t[0], opts[0], self._buf, len(self._buf), self._n)
            if result != lib.GHOSTTY_OUT_OF_SPACE:
                break
            self._buf = ffi.new("uint8_t[]", max(self._n[0], 2 * len(self._buf)))
        check(result, "format rows")
        data = ffi.buffer(self._buf, self._n[0])[:]
        skip = _OSC.match(data).end()  # type: ignore[union-attr]
        return data[skip:] if skip else data

    def runs(self, line: bytes, cols: int) -> tuple[list[Run], int]:
        """One formatted row as runs, padded with blanks to `cols` cells, and how many
        characters lead up to the last one written; `suspects` lists the cells to check with
        `never_written` (-1: a cell that cannot be placed, the row must be read cell by cell)."""
        runs: list[Run] = []
        key = b""
        pos = 0
        graphemes = cells = 0
        self.suspects = []
        for match in _SGR.finditer(line):
            if match.start() > pos:
                g, c = self._add(runs, line[pos:match.start()], key, cells)
                graphemes, cells = graphemes + g, cells + c
            params = match.group(1)
            key = b"" if params in (b"", b"0") else key + b";" + params
            pos = match.end()
        if pos < len(line):
            g, c = self._add(runs, line[pos:], key, cells)
            graphemes, cells = graphemes + g, cells + c
        if cells < cols:
            if runs and runs[-1].style is PLAIN:
                runs[-1] = Run(runs[-1].text + " " * (cols - cells), PLAIN)
            else:
                runs.append(Run(" " * (cols - cells), PLAIN))
        return runs, graphemes

    def never_written(self, y: int) -> bool:
        """Whether one of the suspect cells of viewport row `y` was never written."""
        if -1 in self.suspects:
            return True
        point, ref = self._point, self._ref
        point.value.y = y
        for x in self.suspects:
            point.value.x = x
            check(self._grid_ref(self._term._t[0], point[0], ref), "grid_ref")
            check(lib.ghostty_grid_ref_cell(ref, self._cell), "grid_ref_cell")
            check(lib.ghostty_cell_get(self._cell[0], lib.GHOSTTY_CELL_DATA_HAS_TEXT,
                                       self._has_text), "cell text")
            if not self._has_text[0]:
                return True
        return False

    def _add(self, runs: list[Run], chunk: bytes, key: bytes, at: int) -> tuple[int, int]:
        text = chunk.decode("utf-8", "replace")
        style = self._styles.get(key)
        if style is None:
            parsed = _parse(key)
            style = self._styles[key] = self._interned.setdefault(parsed, parsed)
        if runs and runs[-1].style is style:
            runs[-1] = Run(runs[-1].text + text, style)
        else:
            runs.append(Run(text, style))
        if " " in text and _blanks_show(style):
            if text.isascii():
                self.suspects += [at + i for i, char in enumerate(text) if char == " "]
            else:
                self.suspects.append(-1)
        graphemes = cells = len(text)
        if text.isascii():
            return graphemes, cells
        if _COMPOSED.search(text):
            # an emoji sequence: where it breaks into cells is Ghostty's to say, so this row is
            # read cell by cell
            self.suspects.append(-1)
        for char in _NON_ASCII.findall(text):
            width = char_width(char)
            if width == 0:  # a combining mark: part of the character before it
                graphemes -= 1
                cells -= 1
            elif width == 2:
                cells += 1
        return graphemes, cells


def _blanks_show(style: CellStyle) -> bool:
    return style.bg is not None or style.reverse or style.underline or style.strike


def _parse(key: bytes) -> CellStyle:
    """A CellStyle from the SGR parameters Ghostty's formatter writes after a reset (what
    agentdeck does not show — blink, conceal, overline, underline colour — is passed over)."""
    fg: Color = None
    bg: Color = None
    flags = dict.fromkeys(("bold", "dim", "italic", "underline", "reverse", "strike"), False)
    parts = [p for p in key.split(b";") if p]
    i = 0
    while i < len(parts):
        part = parts[i]
        i += 1
        if b":" in part:  # 4:3 (a curly underline), 58:2::r:g:b (its colour)
            head, _, rest = part.partition(b":")
            if head == b"4":
                flags["underline"] = rest not in (b"0", b"")
            continue
        code = int(part)
        if code in (38, 48, 58):  # 38;5;n or 38;2;r;g;b
            if i < len(parts) and parts[i] == b"5":
                color: Color = int(parts[i + 1])
                i += 2
            else:
                color = (int(parts[i + 1]), int(parts[i + 2]), int(parts[i + 3]))
                i += 4
            if code == 38:
                fg = color
            elif code == 48:
                bg = color
        elif code in _FLAGS:
            flags[_FLAGS[code]] = True
        elif 30 <= code <= 37 or 90 <= code <= 97:
            fg = code - 30 if code < 90 else code - 82
        elif 40 <= code <= 47 or 100 <= code <= 107:
            bg = code - 40 if code < 100 else code - 92
    return CellStyle(fg=fg, bg=bg, bold=flags["bold"], dim=flags["dim"], italic=flags["italic"],
                     underline=flags["underline"], reverse=flags["reverse"],
                     strike=flags["strike"])


_FLAGS = {1: "bold", 2: "dim", 3: "italic", 4: "underline", 21: "underline", 7: "reverse",
          9: "strike"}
