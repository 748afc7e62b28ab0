"""DiffView: a diff side by side (unified when narrow), syntax highlighted, drawing only the
rows on screen, so a 10,000-line diff scrolls as fast as a 10-line one."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from agentdeck.core.git.diffparse import FileDiff, Line
from agentdeck.ui.themes import DEFAULT_DIFF

SIDE_BY_SIDE_MIN = 100  # columns
ADDED, REMOVED = Style(bgcolor="#16361f"), Style(bgcolor="#3f1d1d")
LIGHT_ADDED, LIGHT_REMOVED = Style(bgcolor="#dcf5e1"), Style(bgcolor="#fbe1e1")  # light themes
GUTTER, HEADER = Style(color="#7a7a7a"), Style(bold=True, color="#e5c07b", bgcolor="#262626")
HUNK = Style(color="#61afef")
CURSOR = Style(underline=True)  # the cursor's row: its text underlined, its gutter reversed
CURSOR_GUTTER = Style(reverse=True, bold=True)
MORE = Style(dim=True, bold=True)  # ‹ › where a long line goes on past the view
HSTEP = 8  # columns left / right scroll by


@dataclass(frozen=True)
class Anchor:
    """Where review feedback points: a file and a line (new number, old number)."""

    path: str
    new: int | None
    old: int | None

    def __str__(self) -> str:
        if self.new is None and self.old is None:
            return self.path
        if self.new is None:
            return f"{self.path} line {self.old} (removed)"
        if self.old is None or self.old == self.new:
            return f"{self.path} line {self.new}"
        return f"{self.path} line {self.new} (was {self.old})"


@dataclass(frozen=True)
class Row:
    kind: str  # file | hunk | line
    file: int  # index of its file
    left: Line | None = None
    right: Line | None = None
    text: str = ""  # file and hunk rows


def layout(files: list[FileDiff], side_by_side: bool) -> list[Row]:
    rows: list[Row] = []
    for index, f in enumerate(files):
        title = f"{f.status} {f.path}" + (f"  (from {f.old_path})" if f.old_path else "")
        rows.append(Row("file", index, text=f"{title}   +{f.added} −{f.removed}"
                        + ("   (binary)" if f.binary else "")))
        for hunk in f.hunks:
            rows.append(Row("hunk", index, text=hunk.header))
            if not side_by_side:
                rows.extend(Row("line", index, left=line) for line in hunk.lines)
                continue
            rows.extend(_side_by_side(index, hunk.lines))
    return rows


def _side_by_side(index: int, lines: list[Line]) -> list[Row]:
    """A hunk's lines in two columns: each block of removals beside the additions that
    replace it; context lines on both sides."""
    rows: list[Row] = []
    removed: list[Line] = []
    added: list[Line] = []
    for line in [*lines, None]:
        if line is not None and line.kind == "-" and not added:
            removed.append(line)
            continue
        if line is not None and line.kind == "+":
            added.append(line)
            continue
        for i in range(max(len(removed), len(added))):  # the block ends: lay it out
            rows.append(Row("line", index, removed[i] if i < len(removed) else None,
                            added[i] if i < len(added) else None))
        removed, added = [], []
        if line is not None and line.kind == "-":
            removed.append(line)
        elif line is not None:
            rows.append(Row("line", index, line, line))
    return rows


@lru_cache(maxsize=4096)
def highlighted(path: str, text: str, style: str = "monokai") -> Text:
    """A line of code coloured by its file's language, in the theme's Pygments `style`."""
    lexer = Syntax.guess_lexer(path, code=text)
    out = Syntax(text, lexer, theme=style, background_color="default").highlight(text)
    out.rstrip()  # highlight() ends the line with a newline, which would end the row early
    return out


class DiffView(ScrollView, can_focus=True):
    """↑ ↓ (j k) move the line cursor, PageUp / PageDown by a screen, ← → scroll long lines
    sideways; the review screen's n p ] [ jump it by hunk and file."""

    DEFAULT_CSS = "DiffView { width: 1fr; height: 1fr; overflow-x: hidden; }"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "line(1)", "line down", show=False, id="diff-down"),
        Binding("up,k", "line(-1)", "line up", show=False, id="diff-up"),
        Binding("pagedown", "page(1)", "page down", show=False, id="diff-page-down"),
        Binding("pageup", "page(-1)", "page up", show=False, id="diff-page-up"),
        # the cursor to the first / last row, at once (the scroll views' own home and end
        # animate, and leave the cursor behind)
        Binding("home", "edge(0)", "first line", show=False, id="diff-home"),
        Binding("end", "edge(1)", "last line", show=False, id="diff-end"),
        Binding("right,l", "sideways(1)", "scroll right", show=False, id="diff-right"),
        Binding("left,h", "sideways(-1)", "scroll left", show=False, id="diff-left"),
    ]

    class CursorMoved(Message):
        """The cursor is on another row (of file `file`)."""

        def __init__(self, file: int) -> None:
            super().__init__()
            self.file = file

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.files: list[FileDiff] = []
        self.rows: list[Row] = []
        self.side_by_side = True
        self.cursor = 0  # the row n/p/]/[ move to, and feedback anchors at
        self.shift = 0  # columns of the code scrolled off to the left

    def action_line(self, step: int) -> None:
        if self.rows:
            self.move_to(max(0, min(len(self.rows) - 1, self.cursor + step)))

    def action_page(self, pages: int) -> None:
        self.action_line(pages * max(1, self.size.height - 1))

    def action_edge(self, last: int) -> None:
        if self.rows:
            self.move_to(len(self.rows) - 1 if last else 0)

    def action_sideways(self, step: int) -> None:
        self.shift = max(0, self.shift + step * HSTEP)
        self.refresh()

    def on_mount(self) -> None:
        # the diff's colours follow the theme (a light theme gets a light Pygments style)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.refresh())

    def _style(self) -> str:
        themes = getattr(self.app, "themes", None)
        dark = self.app.current_theme.dark
        return themes.diff_style(self.app.theme, dark) if themes else DEFAULT_DIFF[dark]

    def show(self, files: list[FileDiff]) -> None:
        self.files = files
        self._relayout()

    def on_resize(self) -> None:
        wanted = self.size.width >= SIDE_BY_SIDE_MIN
        if wanted != self.side_by_side or not self.rows:
            self._relayout()

    def _relayout(self) -> None:
        self.side_by_side = self.size.width >= SIDE_BY_SIDE_MIN or self.size.width == 0
        self.rows = layout(self.files, self.side_by_side)
        self.cursor = min(self.cursor, max(len(self.rows) - 1, 0))
        self.virtual_size = Size(self.size.width, len(self.rows))
        self.refresh()

    # -- navigation ---------------------------------------------------------------------------
    def top_row(self) -> int:
        return int(self.scroll_offset.y)

    def jump(self, kind: str, forward: bool) -> None:
        """The cursor to the next (or previous) hunk or file."""
        span = (range(self.cursor + 1, len(self.rows)) if forward
                else range(self.cursor - 1, -1, -1))
        for i in span:
            if self.rows[i].kind == kind:
                self.move_to(i)
                return

    def to_file(self, index: int) -> None:
        for i, row in enumerate(self.rows):
            if row.kind == "file" and row.file == index:
                self.move_to(i)
                return

    def move_to(self, index: int) -> None:
        self.cursor = index
        top, height = self.top_row(), max(self.size.height, 1)
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False)
        self.refresh()
        if self.rows:
            self.post_message(self.CursorMoved(self.rows[index].file))

    @property
    def current_file(self) -> int | None:
        return self.rows[self.cursor].file if self.rows else None

    def feedback_anchor(self) -> Anchor | None:
        """Where feedback points: the line under the cursor (from a file or hunk header, the
        first line after it), by its new line number and its old one where that differs."""
        for row in self.rows[self.cursor:]:
            if row.kind == "line":  # (a unified row holds its one line as `left`)
                lines = [x for x in (row.left, row.right) if x is not None]
                new = next((x.new for x in lines if x.kind != "-"), None)
                old = next((x.old for x in lines if x.kind != "+"), None)
                return Anchor(self.files[row.file].path, new, old)
        return None

    # -- drawing ------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        index = self.top_row() + y
        width = self.size.width
        if not self.rows and y == 1:
            note = "  no changes against the base yet (u includes work not committed)"
            return Strip([Segment(note.ljust(width)[:width], GUTTER)])
        if index >= len(self.rows):
            return Strip.blank(width)
        row = self.rows[index]
        if index != self.cursor:
            return self._row(row, width)
        if row.kind != "line":
            return self._row(row, width).apply_style(CURSOR_GUTTER)
        return self._row(row, width, cursor=True)

    def _row(self, row: Row, width: int, cursor: bool = False) -> Strip:
        if row.kind == "file":
            return Strip([Segment(row.text.ljust(width)[:width], HEADER)])
        if row.kind == "hunk":
            return Strip([Segment(row.text.ljust(width)[:width], HUNK)])
        path = self.files[row.file].path
        if not self.side_by_side:
            return self._cell(path, row.left, width, unified=True, cursor=cursor)
        half = width // 2
        left = self._cell(path, row.left, half, side="old", cursor=cursor)
        right = self._cell(path, row.right, width - half, side="new", cursor=cursor)
        return Strip([*left, *right])

    def _cell(self, path: str, line: Line | None, width: int, unified: bool = False,
              side: str = "", cursor: bool = False) -> Strip:
        if line is None:
            return Strip.blank(width)
        number = line.old if side == "old" or (unified and line.kind == "-") else line.new
        if side == "old" and line.kind == "+":
            return Strip.blank(width)
        if side == "new" and line.kind == "-":
            return Strip.blank(width)
        added, removed = (ADDED, REMOVED) if self.app.current_theme.dark else (
            LIGHT_ADDED, LIGHT_REMOVED)
        bg = added if line.kind == "+" else removed if line.kind == "-" else None
        mark = line.kind if unified and line.kind in "+-" else " "
        gutter = Text(f"{number or '':>5} {mark}", style=CURSOR_GUTTER if cursor else GUTTER)
        body = highlighted(path, line.text.expandtabs(4), self._style()).copy()
        room = max(width - 7, 0)
        if self.shift:  # scrolled sideways: a mark says the line starts further left
            body = Text("‹", style=MORE) + body[self.shift + 1:] if body.cell_len > self.shift \
                else Text("")
        if body.cell_len > room and room > 1:  # it goes on past the view: say so
            body.truncate(room - 1)
            body.append("›", style=MORE)
        body.truncate(room, pad=True)
        if cursor:
            body.stylize(CURSOR)
        text = Text.assemble(gutter, body)
        if bg is not None:
            text.stylize(bg)
        segments = list(text.render(self.app.console))
        return Strip(segments, width).crop_extend(0, width, None)
