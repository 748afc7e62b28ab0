"""The emulator's cell styles (core/screen/terminal) as Rich styles, cached: a screen has a few
dozen styles, drawn again on every row."""

from __future__ import annotations

import functools

from rich.color import Color as RichColor
from rich.style import Style

from agentdeck.core.screen.terminal import CellStyle, Color


@functools.lru_cache(maxsize=4096)
def rich_style(cell: CellStyle) -> Style:
    """A cell's style as Rich's (equal cells share one: a screen has a few dozen styles)."""
    return Style(color=_rich_color(cell.fg), bgcolor=_rich_color(cell.bg), bold=cell.bold or None,
                 dim=cell.dim or None, italic=cell.italic or None,
                 underline=cell.underline or None, reverse=cell.reverse or None,
                 strike=cell.strike or None, link=cell.link)  # clickable where the terminal can


@functools.lru_cache(maxsize=4096)
def on_ground(ground: Style, cell: CellStyle) -> Style:
    """A cell's style over the pane's own (its background, where the cell has none)."""
    return ground + rich_style(cell)


def _rich_color(color: Color) -> RichColor | None:
    if color is None:
        return None
    if isinstance(color, int):
        return RichColor.from_ansi(color)
    return RichColor.from_rgb(*color)
