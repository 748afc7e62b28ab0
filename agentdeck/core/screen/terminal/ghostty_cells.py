"""Ghostty's screen rows read cell by cell, through the render state's row iterator: one
`get_multi` call per cell for its grapheme and style (and its hyperlink where the row holds
one); styles are cached by their bytes so equal cells share one CellStyle. The formatter
(ghostty_rows.py) reads most rows faster; this reads the rows it cannot give, and the tests
hold the formatter's rows against it."""

from __future__ import annotations

import dataclasses
import unicodedata
from typing import Any

from pyghostty._ffi import check, ffi, lib

from agentdeck.core.screen.terminal.base import CellStyle, Run, group_runs

_CELL_KEYS = (lib.GHOSTTY_RENDER_STATE_ROW_CELLS_DATA_GRAPHEMES_UTF8,
              lib.GHOSTTY_RENDER_STATE_ROW_CELLS_DATA_STYLE)
_ASCII = [chr(i) if i < 0x80 else "\ufffd" for i in range(256)]


def _color(c: Any) -> int | tuple[int, int, int] | None:
    if c.tag == lib.GHOSTTY_STYLE_COLOR_PALETTE:
        return int(c.value.palette)
    if c.tag == lib.GHOSTTY_STYLE_COLOR_RGB:
        rgb = c.value.rgb
        return (rgb.r, rgb.g, rgb.b)
    return None


class CellReader:
    """Rows of a render state's row iterator (`iterator`, positioned by the caller)."""

    def __init__(self, term: Any, iterator: Any) -> None:
        self._term, self._it = term, iterator
        self._cells = ffi.new("GhosttyRenderStateRowCells*")
        check(lib.ghostty_render_state_row_cells_new(ffi.NULL, self._cells), "row_cells_new")
        self._buf = ffi.new("uint8_t[64]")
        self._gbuf = ffi.new("GhosttyBuffer*")
        self._gbuf.ptr, self._gbuf.cap = self._buf, 64
        self._style = ffi.new("GhosttyStyle*")
        self._style.size = ffi.sizeof("GhosttyStyle")
        self._keys = ffi.new("GhosttyRenderStateRowCellsData[2]", list(_CELL_KEYS))
        self._vals = ffi.new("void*[2]", [self._gbuf, self._style])
        self._n = ffi.new("size_t*")
        self._styles: dict[bytes, CellStyle] = {}
        self._linked: dict[tuple[bytes, str], CellStyle] = {}  # styles with a hyperlink

    def _link_at(self, x: int, y: int) -> str | None:
        ref = self._term.ref(x, y, "viewport")
        self._n[0] = 0
        lib.ghostty_grid_ref_hyperlink_uri(ref, ffi.NULL, 0, self._n)  # its length, if any
        if not self._n[0]:
            return None
        buf = ffi.new("uint8_t[]", self._n[0])
        check(lib.ghostty_grid_ref_hyperlink_uri(ref, buf, len(buf), self._n), "hyperlink")
        return ffi.buffer(buf, self._n[0])[:].decode("utf-8", "replace")

    def row(self, links_on: int | None = None) -> tuple[list[Run], int]:
        """The iterator's row as runs, and how many characters lead up to the last written;
        `links_on`: the row's viewport y when it holds hyperlinks, to look each cell's up."""
        check(lib.ghostty_render_state_row_get(self._it[0], lib.GHOSTTY_RENDER_STATE_ROW_DATA_CELLS,
                                               self._cells), "row cells")
        cells, gbuf, buf, style = self._cells[0], self._gbuf, self._buf, self._style
        keys, vals, n = self._keys, self._vals, self._n
        chars: list[str] = []
        styles: list[CellStyle] = []
        skip_tail = False
        written = 0
        x = -1
        while lib.ghostty_render_state_row_cells_next(cells):
            x += 1
            gbuf.len = 0
            lib.ghostty_render_state_row_cells_get_multi(cells, 2, keys, vals, n)
            size = gbuf.len
            if size == 1:  # most cells: one ASCII byte, read without a buffer object
                char = _ASCII[buf[0]]
            else:
                char = ffi.buffer(buf, size)[:].decode("utf-8", "replace") if size else ""
            if not char:
                if skip_tail:  # the spacer cell after a wide character
                    skip_tail = False
                    continue
                char = " "
            else:
                skip_tail = char > "\x7f" and _is_wide(char)
                written = len(chars) + 1
            key = bytes(ffi.buffer(style))
            cell_style = self._styles.get(key)
            if cell_style is None:
                cell_style = self._styles[key] = self._make_style()
            if links_on is not None:
                link = self._link_at(x, links_on)
                if link:
                    linked = (key, link)
                    cell_style = self._linked.get(linked) or self._linked.setdefault(
                        linked, dataclasses.replace(cell_style, link=link))
            chars.append(char)
            styles.append(cell_style)
        return group_runs(chars, styles), written

    def _make_style(self) -> CellStyle:
        s = self._style
        return CellStyle(fg=_color(s.fg_color), bg=_color(s.bg_color), bold=bool(s.bold),
                         dim=bool(s.faint), italic=bool(s.italic), underline=s.underline != 0,
                         reverse=bool(s.inverse), strike=bool(s.strikethrough))

    def close(self) -> None:
        lib.ghostty_render_state_row_cells_free(self._cells[0])


def _is_wide(char: str) -> bool:
    if unicodedata.east_asian_width(char[0]) in ("W", "F"):
        return True
    return len(char) > 1 and "\ufe0f" in char
