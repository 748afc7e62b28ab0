"""How a TerminalPane's rows become Strips: an agent's row of runs on the pane's ground, cut
or padded to its width; the cursor drawn on a row; a content row framed by the border's two
edge cells; and the cache that hands the same Strip for the same source again (output that
scrolls moves every row up one, each the same runs as a row lower: no Strip is made for it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter
from textual.strip import Strip

from agentdeck.core.screen.terminal.base import Run
from agentdeck.ui.cell_style import on_ground

CURSOR = Style(reverse=True)
CUT = Style(dim=True, bold=True)

Source = TypeVar("Source")


class ByIdentity(Generic[Source]):
    """Strips made from a source object (a row's runs, a drawn row), found again by that very
    object; bounded (cleared when it holds more than `bound()` of them)."""

    def __init__(self) -> None:
        self._made: dict[int, tuple[Source, Strip]] = {}

    def get(self, source: Source) -> Strip | None:
        made = self._made.get(id(source))
        return made[1] if made is not None and made[0] is source else None

    def put(self, source: Source, strip: Strip, bound: int) -> Strip:
        if len(self._made) > bound:
            self._made.clear()
        self._made[id(source)] = (source, strip)
        return strip

    def clear(self) -> None:
        self._made.clear()


def row_strip(runs: list[Run], width: int, base: Style) -> Strip:
    """A row of the agent's screen as drawn: its segments on the pane's ground (every cell gets
    the pane's own style beneath the agent's, the padding included: a segment with no style
    breaks Textual's filters, NO_COLOR's monochrome one), cropped or padded to `width`, text
    that runs on past the edge marked with a cut."""
    segments = [Segment(run.text, on_ground(base, run.style)) for run in runs]
    length = sum(segment.cell_length for segment in segments)
    if length > width and cell_len("".join(r.text for r in runs).rstrip()) > width:
        segments = Segment.adjust_line_length(segments, width - 1, base)
        segments.append(Segment("›", base + CUT))
    elif length != width:
        segments = Segment.adjust_line_length(segments, width, base)
    return Strip(segments, width)


def with_cursor(strip: Strip, x: int, width: int, base: Style) -> Strip:
    """The row with the cursor drawn at column `x` (it may sit past the text)."""
    strip = strip.adjust_cell_length(max(width, x + 1), base)
    return Strip.join([strip.crop(0, x), strip.crop(x, x + 1).apply_style(CURSOR),
                       strip.crop(x + 1)]).crop(0, width)


def framed(content: Strip, left: Segment, right: Segment, filters: Sequence[LineFilter],
           background: Color, width: int) -> Strip:
    """A content row with the border's edge cells at its ends and the app's line filters
    applied to its segments (one Strip made per row)."""
    segments: list[Segment] = list(content)
    for line_filter in filters:
        segments = line_filter.apply(segments, background)
    return Strip([left, *segments, right], width)
