"""Ghostty's VT core (libghostty-vt through pyghostty) behind the Emulator interface.

Only the rows Ghostty marks dirty are read, and each only when asked for: through Ghostty's
own formatter (ghostty_rows.py), or — a row holding a hyperlink, which the formatter leaves
out — cell by cell through the render state's row iterator (ghostty_cells.py).
"""

from __future__ import annotations

import re

from pyghostty import Terminal
from pyghostty._ffi import check, ffi, lib

from agentdeck.core.screen.terminal.archive import Archive
from agentdeck.core.screen.terminal.base import ERASE_SCROLLBACK, Modes, Run, row_runs, wrap_rows
from agentdeck.core.screen.terminal.ghostty_cells import CellReader
from agentdeck.core.screen.terminal.ghostty_rows import RowReader

ffi.cdef("""
typedef struct { GhosttyTerminalScrollViewportTag tag; int64_t delta; uint64_t _pad; }
    AgentdeckScrollViewport;
""")
# Passing the union by value is beyond cffi's ABI mode; a layout twin has the same calling
# convention (pyghostty does the same for GhosttyPoint).
assert ffi.sizeof("AgentdeckScrollViewport") == ffi.sizeof("GhosttyTerminalScrollViewport")
_scroll_viewport = ffi.cast("void(*)(GhosttyTerminal, AgentdeckScrollViewport)",
                            ffi.addressof(lib, "ghostty_terminal_scroll_viewport"))

# Ghostty keeps 8 bytes a cell: 10,000 lines of scrollback at 120 columns take 9.4 MB per
# screen. Past this many rows the scrollback moves into an archive of its text lines (about the
# text's own size, as tmux keeps it: archive.py) and the grid keeps the screen and what came
# since.
ARCHIVE_AT = 1024


class GhosttyEmulator:
    name = "ghostty"

    def __init__(self, cols: int = 80, rows: int = 24, scrollback: int = 10_000,
                 bulk: bool = True, archive: bool = True) -> None:
        """`archive=False`: the whole scrollback stays in the grid, where the viewport can
        scroll through it (a still copy the user scrolls back in)."""
        self.cols, self.rows, self.scrollback_limit = cols, rows, scrollback
        self._archive = Archive(scrollback)  # lines with their SGR, as formatted
        self._archiving = archive and scrollback > ARCHIVE_AT
        # Ghostty keeps scrollback in whole pages and also bounds it in bytes (a small
        # default): allow enough bytes for the lines at any sane width, and a page of slack in
        # lines so at least `scrollback` lines stay; history() reports exactly `scrollback`
        self._term = Terminal(cols=cols, rows=rows, scrollback=scrollback + 512)
        # freed when collected, never at interpreter exit: a daemon thread (a PTY feeder, a
        # timer) may still be reading it then, and the process's memory goes anyway
        self._term._free.atexit = False
        check(lib.ghostty_terminal_set(self._term._t[0],
                                       lib.GHOSTTY_TERMINAL_OPT_SCROLLBACK_MAX_BYTES,
                                       ffi.new("size_t*", (scrollback + 512) * 512 * 16)),
              "scrollback bytes")
        self._rs = ffi.new("GhosttyRenderState*")
        check(lib.ghostty_render_state_new(ffi.NULL, self._rs), "render_state_new")
        self._it = ffi.new("GhosttyRenderStateRowIterator*")
        check(lib.ghostty_render_state_row_iterator_new(ffi.NULL, self._it), "row_iterator_new")
        self._cells = CellReader(self._term, self._it)
        self._false = ffi.new("bool*", False)
        # scratch outputs, allocated once: take_dirty runs at the panes' refresh rate
        self._dirty_state = ffi.new("GhosttyRenderStateDirty*")
        self._row_dirty = ffi.new("bool*")
        self._wrap_row = ffi.new("GhosttyRow*")
        self._wrap_flag = ffi.new("bool*")
        self._title = ffi.new("GhosttyString*")
        self._clean = ffi.new("GhosttyRenderStateDirty*", lib.GHOSTTY_RENDER_STATE_DIRTY_FALSE)
        # `bulk`: rows through the formatter (False: every row cell by cell, which the tests
        # hold the formatter's rows against)
        self._bulk = RowReader(self._term) if bulk else None
        self._reader = self._bulk  # the formatter for styled scrollback (made when needed)
        self._rows: list[list[Run]] = [[] for _ in range(rows)]
        self._ends: list[int] = [0] * rows  # per row: characters up to the last one written
        self._offset = 0
        # rows Ghostty marked changed that the pane's reader (take_dirty) and the detectors'
        # (lines, wrapped_rows) have not read again yet: one render state tracks changes for
        # both (a second one would see none: the terminal hands its changes to one update)
        self._stale_runs: set[int] = set(range(rows))
        self._stale_text: set[int] = set(range(rows))
        self._text: list[str] = [""] * rows  # each row's text, trailing blanks removed
        self._wrapped: set[int] = set()  # the rows soft-wrapped onto the next
        self._link_rows: set[int] = set()  # the rows holding a hyperlink
        # changed rows whose two flags above are not read yet: read when asked (the detectors'
        # wrapped rows, a row drawn while hyperlinks were printed), not at every sweep (four
        # calls into the library a changed row: most of a streaming pane's poll)
        self._stale_flags: set[int] = set(range(rows))
        self._links_seen = False  # an OSC 8 (hyperlink) came: rows may hold one
        self._tail = b""  # the last bytes fed (an OSC 8 cut between two feeds)
        self._unread: set[int] = set()  # changed rows whose runs `row` has not read yet
        self._formatted: dict[int, bytes] = {}  # rows formatted with one above, not parsed yet
        # rows parsed, by their formatted text: output that scrolls moves every row up one, and
        # each moved row reads as it did one row lower (the same runs, the same list: a pane
        # keeps what it drew from them)
        self._parsed: dict[bytes, tuple[list[Run], int]] = {}
        self._modes: Modes | None = None  # as last read; None: read them again
        self._mode_tail = False  # the last feed ended inside an escape sequence

    # -- input ------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        self._term.feed(data)
        if not self._links_seen:
            self._links_seen = b"]8;" in data or b"]8;" in self._tail + data[:2]
            self._tail = data[-2:]
        # the modes change only through a private or kitty CSI, a reset or a soft reset: read
        # again after one of those, not at every look (a pane looks at them every frame); a
        # flood's batch is not searched (six searches of a megabyte cost more than reading the
        # modes again once, when next asked)
        if self._modes is not None and (self._mode_tail or len(data) > MODES_SEARCHED
                                        or _sets_modes(data)):
            self._modes = None
        # a sequence cut at the end of this feed ends in the next one, whatever it holds
        self._mode_tail = _OPEN_TAIL.search(data[-32:]) is not None
        # the program cleared its scrollback (a byte looked for first: memchr runs through a
        # flood ten times faster than a search for the sequence)
        if self._archive and b"J" in data and ERASE_SCROLLBACK in data:
            self._archive.clear()

    def archive_scrollback(self) -> bool:
        if not self._archiving or self._term.get("scrollback_rows", "size_t") <= ARCHIVE_AT:
            return False
        if self.modes().alt_screen or self._wrapped_history_rows():
            return False  # a line goes on onto the screen: moved once it has ended
        if self._term.feed_until_ground(b"") is None:
            return False  # the output stopped inside a sequence: ED 3 now would break it
        total = self._term.get("scrollback_rows", "size_t")
        self._archive.add(self._row_reader().history_block(self.cols, total))
        self._term.feed(ERASE_SCROLLBACK)
        return True

    def resize(self, cols: int, rows: int) -> None:
        if (cols, rows) == (self.cols, self.rows) or cols < 1 or rows < 1:
            return
        self._term.resize(cols, rows)
        self.cols, self.rows = cols, rows
        self._modes = None
        self._rows = [[] for _ in range(rows)]
        self._ends = [0] * rows
        self._text = [""] * rows
        self._stale_runs, self._stale_text = set(range(rows)), set(range(rows))
        self._wrapped, self._link_rows = set(), set()
        self._stale_flags = set(range(rows))
        self._unread, self._formatted, self._parsed = set(), {}, {}

    # -- drawing ----------------------------------------------------------------------------
    def _sweep(self) -> None:
        """Take the rows Ghostty marks changed into the readers' stale rows (their flags read
        when asked: `_read_flags`)."""
        rs = self._rs[0]
        check(lib.ghostty_render_state_update(rs, self._term._t[0]), "render_state_update")
        check(lib.ghostty_render_state_get(rs, lib.GHOSTTY_RENDER_STATE_DATA_DIRTY,
                                           self._dirty_state), "dirty")
        if self._dirty_state[0] == lib.GHOSTTY_RENDER_STATE_DIRTY_FALSE:
            return
        full = self._dirty_state[0] == lib.GHOSTTY_RENDER_STATE_DIRTY_FULL
        check(lib.ghostty_render_state_get(rs, lib.GHOSTTY_RENDER_STATE_DATA_ROW_ITERATOR,
                                           self._it), "row_iterator")
        it, row_dirty = self._it[0], self._row_dirty
        stale_runs, stale_text, stale_flags = self._stale_runs, self._stale_text, self._stale_flags
        y = 0
        while lib.ghostty_render_state_row_iterator_next(it) and y < self.rows:
            if not full:
                lib.ghostty_render_state_row_get(it, lib.GHOSTTY_RENDER_STATE_ROW_DATA_DIRTY,
                                                 row_dirty)
            if full or row_dirty[0]:
                stale_runs.add(y)
                stale_text.add(y)
                stale_flags.add(y)
                lib.ghostty_render_state_row_set(it, lib.GHOSTTY_RENDER_STATE_ROW_OPTION_DIRTY,
                                                 self._false)
            y += 1
        lib.ghostty_render_state_set(rs, lib.GHOSTTY_RENDER_STATE_OPTION_DIRTY, self._clean)

    def _read_flags(self) -> None:
        """The soft-wrap and hyperlink flags of the changed rows, from the render state as of
        the last sweep (its copy of each row)."""
        if not self._stale_flags:
            return
        check(lib.ghostty_render_state_get(self._rs[0],
                                           lib.GHOSTTY_RENDER_STATE_DATA_ROW_ITERATOR,
                                           self._it), "row_iterator")
        it, row, flag, stale = self._it[0], self._wrap_row, self._wrap_flag, self._stale_flags
        flags = [(self._wrapped, lib.GHOSTTY_ROW_DATA_WRAP)]
        if self._links_seen:  # (else no row holds a hyperlink: not asked)
            flags.append((self._link_rows, lib.GHOSTTY_ROW_DATA_HYPERLINK))
        y = 0
        while lib.ghostty_render_state_row_iterator_next(it) and y < self.rows:
            if y in stale:
                check(lib.ghostty_render_state_row_get(it, lib.GHOSTTY_RENDER_STATE_ROW_DATA_RAW,
                                                       row), "row raw")
                for marks, key in flags:
                    check(lib.ghostty_row_get(row[0], key, flag), "row flag")
                    if flag[0]:
                        marks.add(y)
                    else:
                        marks.discard(y)
            y += 1
        self._stale_flags = set()

    def take_dirty(self) -> set[int]:
        """The rows changed since the last call; each is read (formatted, parsed into runs)
        when `row` first asks for it: a pane that shows part of the screen, or none of it,
        reads only what it draws."""
        self._sweep()
        changed, self._stale_runs = self._stale_runs, set()
        self._unread |= changed
        for y in changed:
            self._formatted.pop(y, None)
        return changed

    def _read(self, y: int) -> None:
        """Row `y`'s runs, read now: through the formatter (the rows below it that wait too
        formatted in the same call, for the rows a pane draws next), or cell by cell where
        the formatter cannot give it (a hyperlink, a never-written cell that would show)."""
        self._unread.discard(y)
        if self._links_seen:  # (else no row holds one: their flags need not be read)
            self._read_flags()
        if self._bulk is not None and y not in self._link_rows:
            line = self._formatted.pop(y, None)
            if line is None:
                last = y
                while last + 1 < self.rows and last + 1 in self._unread and \
                        last + 1 not in self._formatted:
                    last += 1
                lines = self._bulk.screen(self.cols, last + 1, y)
                line = lines[0]
                self._formatted.update(zip(range(y + 1, last + 1), lines[1:], strict=True))
            known = self._parsed.get(line)
            if known is not None:
                self._rows[y], self._ends[y] = known
                return
            runs, end = self._bulk.runs(line, self.cols)
            if not self._bulk.suspects:  # (a row with suspect cells is read where it stands)
                if len(self._parsed) > 4 * self.rows:
                    self._parsed.clear()
                self._parsed[line] = (runs, end)
            if not (self._bulk.suspects and self._bulk.never_written(y)):
                self._rows[y], self._ends[y] = runs, end
                return
        check(lib.ghostty_render_state_get(self._rs[0],
                                           lib.GHOSTTY_RENDER_STATE_DATA_ROW_ITERATOR,
                                           self._it), "row_iterator")
        for _ in range(y + 1):  # (the iterator to the row)
            lib.ghostty_render_state_row_iterator_next(self._it[0])
        self._rows[y], self._ends[y] = self._cells.row(y if y in self._link_rows else None)

    def row(self, y: int) -> list[Run]:
        if y in self._unread:
            self._read(y)
        return self._rows[y] if 0 <= y < len(self._rows) else []

    def row_end(self, y: int) -> int | None:
        if y in self._unread:
            self._read(y)
        return self._ends[y] if 0 <= y < len(self._ends) else None

    # -- text and state ---------------------------------------------------------------------
    def lines(self) -> list[str]:
        if self._offset:  # (the render state reads the viewport: the live screen only here)
            lines = self._term.text().split("\n")
            return (lines + [""] * self.rows)[: self.rows]
        self._sweep()
        if self._stale_text:
            reader = self._row_reader()
            for first, last in _blocks(self._stale_text, self.rows):
                self._text[first:last + 1] = reader.text(first, last, self.cols)
            self._stale_text = set()
        return list(self._text)

    def wrapped_rows(self) -> set[int]:
        if not self._offset:
            self._sweep()
            self._read_flags()
            return set(self._wrapped)
        term, row, flag = self._term, self._wrap_row, self._wrap_flag
        wrapped = set()
        for y in range(self.rows):
            check(lib.ghostty_grid_ref_row(term.ref(0, y), row), "grid_ref_row")
            check(lib.ghostty_row_get(row[0], lib.GHOSTTY_ROW_DATA_WRAP, flag), "row wrap")
            if flag[0]:
                wrapped.add(y)
        return wrapped

    def styled_history(self, archived: bool = True) -> list[str]:
        total = self._term.get("scrollback_rows", "size_t")
        history = self._row_reader().history(self.cols, total) if total else []
        if archived and self._archive:
            history = [*self._archive.styled(), *history]
        return history[-self.scrollback_limit:] if self.scrollback_limit else []

    def history(self, archived: bool = True) -> list[str]:
        total = self._term.get("scrollback_rows", "size_t")
        # (as Ghostty's own text: no trailing blanks)
        kept = self._archive.plain() if archived and self._archive else []
        if not total:
            return kept[-self.scrollback_limit:] if self.scrollback_limit else []
        # everything as the lines the program printed (soft wraps joined), minus the screen's
        everything = self._term.contents().split("\n")
        on_screen = _logical_lines(self.lines(), self.wrapped_rows())
        while on_screen and not on_screen[-1]:
            on_screen.pop()  # Ghostty leaves blank rows at the bottom out of its contents
        cut = max(len(everything) - len(on_screen), 0)
        history = everything[:cut]
        joined = self._wrapped_history_rows()
        if joined and cut < len(everything):
            # the screen's first row goes on with a line begun in scrollback: that line's
            # beginning (its rows in scrollback) is scrollback too, else a replay would lose it
            # and a reflow would differ
            rows = wrap_rows(everything[cut], self.cols)
            history.append("".join(rows[:joined]))
        history = [*kept, *history]
        # Ghostty frees scrollback a page at a time; report exactly the configured bound
        return history[-self.scrollback_limit:] if self.scrollback_limit else []

    def _row_reader(self) -> RowReader:
        if self._reader is None:
            self._reader = self._bulk or RowReader(self._term)
        return self._reader

    def screen_continues_history(self) -> bool:
        return self._wrapped_history_rows() > 0

    def _wrapped_history_rows(self) -> int:
        """How many of the last scrollback rows are soft-wrapped onto the screen: the rows of
        the beginning of a line that goes on at the screen's top."""
        total = self._term.get("scrollback_rows", "size_t")
        count = 0
        while count < total:
            y = total - 1 - count
            check(lib.ghostty_grid_ref_row(self._term.ref(0, y, "history"), self._wrap_row),
                  "grid_ref_row")
            check(lib.ghostty_row_get(self._wrap_row[0], lib.GHOSTTY_ROW_DATA_WRAP,
                                      self._wrap_flag), "row wrap")
            if not self._wrap_flag[0]:
                break
            count += 1
        return count

    def cursor(self) -> tuple[int, int]:
        return self._term.cursor

    def modes(self) -> Modes:
        if self._modes is None:
            t = self._term
            alt = t.get("active_screen", "GhosttyTerminalScreen") != \
                lib.GHOSTTY_TERMINAL_SCREEN_PRIMARY
            self._modes = Modes(app_cursor=t.mode(1), bracketed_paste=t.mode(2004),
                                alt_screen=alt,
                                cursor_visible=bool(t.get("cursor_visible", "bool")),
                                focus_events=t.mode(1004),
                                kitty_flags=int(t.get("kitty_keyboard_flags", "uint8_t")))
        return self._modes

    def title(self) -> str:
        text = self._title
        check(lib.ghostty_terminal_get(self._term._t[0], lib.GHOSTTY_TERMINAL_DATA_TITLE, text),
              "title")
        return ffi.buffer(text.ptr, text.len)[:].decode("utf-8", "replace") if text.len else ""

    def _scroll(self, tag: int, delta: int = 0) -> None:
        behavior = ffi.new("AgentdeckScrollViewport*")
        behavior.tag, behavior.delta = tag, delta
        _scroll_viewport(self._term._t[0], behavior[0])

    def scroll(self, delta: int) -> None:
        self._scroll(lib.GHOSTTY_SCROLL_VIEWPORT_DELTA, delta)
        bar = self._term.get("scrollbar", "GhosttyTerminalScrollbar")
        self._offset = max(0, int(bar.total - bar.offset - bar.len))

    def scroll_to_bottom(self) -> None:
        self._scroll(lib.GHOSTTY_SCROLL_VIEWPORT_BOTTOM)
        self._offset = 0

    @property
    def scroll_offset(self) -> int:
        return self._offset

    def close(self) -> None:
        if self._rs is not None:
            self._cells.close()
            lib.ghostty_render_state_row_iterator_free(self._it[0])
            lib.ghostty_render_state_free(self._rs[0])
            self._rs = None
        self._term.close()


# what may change a mode: a private or kitty CSI (CSI ? … h/l, CSI > … u, CSI < u, CSI = … u),
# a reset (ESC c) or a soft reset (CSI ! p)
MODES_SEARCHED = 4096  # feeds up to this size are searched for what may change a mode
# a private or kitty CSI, a reset (RIS) or a soft reset (DECSTR): what may change the modes
_MODE_START = re.compile(rb"\x1b(?:\[[?><=!]|c)")
_OPEN_TAIL = re.compile(rb"\x1b(?:\[[?<=>!]?[0-9;]*)?\Z")


def _sets_modes(data: bytes) -> bool:
    # (one regex: six substring searches cost twice as much, each stopping at every ESC; a
    # flood's batch past MODES_SEARCHED is not searched at all)
    return b"\x1b" in data and _MODE_START.search(data) is not None


def _blocks(rows: set[int], count: int) -> list[tuple[int, int]]:
    """The rows as runs of adjacent rows (first, last), each read with one format call; past
    half the screen, the whole screen in one."""
    if len(rows) > count // 2:
        return [(0, count - 1)]
    return row_runs(rows)


def _logical_lines(rows: list[str], wrapped: set[int]) -> list[str]:
    lines: list[str] = []
    joining = False
    for y, row in enumerate(rows):
        if joining:
            lines[-1] += row
        else:
            lines.append(row)
        joining = y in wrapped
    return lines
