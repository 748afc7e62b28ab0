"""How a TerminalPane's rows become Strips: an agent's row of runs on the pane's ground, cut
or padded to its width (its segments: one Strip is made per row, framed); the cursor drawn on a
row; a content row framed by the border's two edge cells; and the cache that hands the same
row again for the same source (output that scrolls moves every row up one, each the same runs
as a row lower: nothing is made for it)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from rich.cells import cell_len
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from agentdeck.core.screen.terminal import CellStyle
from agentdeck.core.screen.terminal.base import Run
from agentdeck.ui.cell_style import on_ground

CURSOR = Style(reverse=True)
CUT = Style(dim=True, bold=True)

Source = TypeVar("Source")
Made = TypeVar("Made")
Row = list[Segment]  # a content row as drawn: segments exactly as wide as the pane's content


class ByIdentity(Generic[Source, Made]):
    """What was made from a source object (a row's runs, a drawn row), found again by that very
    object; bounded (cleared when it holds more than `bound` of them)."""

    def __init__(self) -> None:
        self._made: dict[int, tuple[Source, Made]] = {}

    def get(self, source: Source) -> Made | None:
        made = self._made.get(id(source))
        return made[1] if made is not None and made[0] is source else None

    def put(self, source: Source, made: Made, bound: int) -> Made:
        if len(self._made) > bound:
            self._made.clear()
        self._made[id(source)] = (source, made)
        return made

    def clear(self) -> None:
        self._made.clear()


class RowMaker:
    """A pane's rows as drawn, for one ground and one recolouring: an agent's row of runs as
    its segments on the pane's ground (every cell gets the pane's own style beneath the
    agent's, the padding included: a segment with no style breaks Textual's filters, NO_COLOR's
    monochrome one), cropped or padded to the width, text that runs on past the edge marked
    with a cut. `recolor`: the app's ANSI-to-truecolor filter for one style (see Frame). Each
    cell style's final style is found once, by the style object itself (the emulator hands a
    screen's equal styles as one object)."""

    def __init__(self, base: Style, recolor: Callable[[Style], Style] | None) -> None:
        self.base, self.recolor = base, recolor
        self._styles: dict[int, tuple[CellStyle, Style]] = {}

    def style(self, cell: CellStyle) -> Style:
        made = self._styles.get(id(cell))
        if made is None or made[0] is not cell:
            style = on_ground(self.base, cell)
            if self.recolor is not None:
                style = self.recolor(style)
            if len(self._styles) > 4096:
                self._styles.clear()
            made = self._styles[id(cell)] = (cell, style)
        return made[1]

    def row(self, runs: list[Run], width: int) -> Row:
        style, base = self.style, self.base
        segments = [Segment(run.text, style(run.style)) for run in runs]
        text = "".join([run.text for run in runs])
        length = cell_len(text)
        if length > width and cell_len(text.rstrip()) > width:
            segments = Segment.adjust_line_length(segments, width - 1, base)
            segments.append(Segment("›", base + CUT))
        elif length != width:
            segments = Segment.adjust_line_length(segments, width, base)
        return segments


def with_cursor(strip: Strip, x: int, width: int, base: Style) -> Strip:
    """The row with the cursor drawn at column `x` (it may sit past the text)."""
    strip = strip.adjust_cell_length(max(width, x + 1), base)
    return Strip.join([strip.crop(0, x), strip.crop(x, x + 1).apply_style(CURSOR),
                       strip.crop(x + 1)]).crop(0, width)


def framed(content: Row, left: Segment, right: Segment, filters: Sequence[LineFilter],
           background: Color, width: int) -> Strip:
    """A content row with the border's edge cells at its ends and the app's line filters
    applied to its segments (one Strip made per row)."""
    segments = content
    for line_filter in filters:
        segments = line_filter.apply(segments, background)
    return Strip([left, *segments, right], width)


class Frame:
    """A pane's rows for the compositor, its content rows framed here: each one its own strip
    with the border's two edge cells at its ends, made once per row drawn. Textual's line
    pipeline builds each row anew around the content (border, padding, tint, a Strip and its
    caches: most of a streaming dashboard's time). The top and bottom rows (titles), and a
    pane styled in ways that pipeline handles (padding, tint, opacity), go through Textual
    (`drawn`: the widget's own render_lines)."""

    def __init__(self, widget: Widget, drawn: Callable[[Region], list[Strip]],
                 recolored: Callable[[], None]) -> None:
        self.widget, self._drawn, self._recolored = widget, drawn, recolored
        # The app's ANSI-to-truecolor filter (on unless the app keeps ANSI colours) for one
        # style: the content rows are made with it (once per row drawn, a style at a time)
        # rather than framed through it (a new segment for every segment of every row
        # framed: an eighth of a streaming dashboard's time). None: no such filter, or the
        # rows go through Textual's pipeline, which applies it.
        self.recolor: Callable[[Style], Style] | None = None
        self._framed: ByIdentity[Row, Strip] = ByIdentity()  # by the content row as drawn
        # the edge cells, line filters and ground, for the size they were read at (None: read
        # them again, after a change of style: class, focus, theme)
        self._edges: tuple[object, tuple[Segment, Segment, Sequence[LineFilter], Color]] | None
        self._edges = None
        self._edge_rows: dict[int, tuple[object, Strip]] = {}  # top and bottom, by their labels

    def restyled(self) -> None:
        self._edges = None

    def lines(self, crop: Region, content: Callable[[int], Row],
              labels: tuple[str, str]) -> list[Strip]:
        """The rows in `crop`; `content(y)`: content row y as drawn; `labels`: the border's."""
        edges = self._edge_cells()
        if edges is None:
            self._set_recolor(None)
            return self._drawn(crop)
        left, right, filters, background = edges
        width, height = self.widget.outer_size
        strips: list[Strip] = []
        for y in crop.line_range:
            if not 0 < y < height - 1:
                # (Textual renders every widget the union of a frame's changes covers: with ten
                # panes printing, every row of each, at every frame; these change with titles)
                key = (y, height, *labels)
                edge_row = self._edge_rows.get(y)
                if edge_row is None or edge_row[0] != key:
                    edge_row = self._edge_rows[y] = (key, self._drawn(Region(0, y, width, 1))[0])
                strips.append(edge_row[1])
                continue
            row = content(y - 1)
            # by the row drawn, not where: a row output scrolled up is the same strip again
            strips.append(self._framed.get(row) or self._framed.put(
                row, framed(row, left, right, filters, background, width), 4 * height + 16))
        if crop.column_span != (0, width):
            first, last = crop.column_span
            strips = [strip.crop(first, last) for strip in strips]
        return strips

    def _edge_cells(self) -> tuple[Segment, Segment, Sequence[LineFilter], Color] | None:
        """The left and right border cells of a content row as Textual draws them (read from
        one row it drew, filters applied), or None where its pipeline must draw every row."""
        widget = self.widget
        size = widget.outer_size
        if self._edges is not None and self._edges[0] == size:
            return self._edges[1]
        self._edges = None
        styles = widget.styles
        width, height = size
        if (height < 3 or width < 3 or styles.padding != (0, 0, 0, 0) or styles.tint.a
                or widget.opacity != 1 or styles.text_opacity != 1
                or not (styles.border_left[0] and styles.border_right[0])
                or styles.outline_left[0] or styles.outline_right[0]
                or widget.content_size != (width - 2, height - 2)):
            return None
        self._framed.clear()
        self._edge_rows.clear()
        background = widget.background_colors[1]
        filters = widget.app.get_line_filters()
        truecolor = next((f for f in filters if isinstance(f, ANSIToTruecolor)), None)
        # (first: the row read below is made of content rows, recoloured the new way)
        self._set_recolor(None if truecolor is None else functools.partial(
            _truecolor, truecolor, background.rich_color))
        row = list(self._drawn(Region(0, 1, width, 1))[0])
        if len(row) < 2 or row[0].cell_length != 1 or row[-1].cell_length != 1:
            self._set_recolor(None)
            return None
        others = tuple(f for f in filters if not isinstance(f, ANSIToTruecolor))
        self._edges = (size, (row[0], row[-1], others, background))
        return self._edges[1]

    def _set_recolor(self, recolor: Callable[[Style], Style] | None) -> None:
        if recolor is None and self.recolor is None:
            return
        self.recolor = recolor
        self._recolored()  # (rows made with the last one, or none, are drawn anew)


def _truecolor(line_filter: ANSIToTruecolor, background: RichColor, style: Style) -> Style:
    return line_filter.truecolor_style(style, background)
