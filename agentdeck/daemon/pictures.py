"""A picture of a session's screen: its rows as the session host's emulator draws them (runs of
text and style), its cursor, title and modes, sent to a dashboard in one round trip for every
agent (the "screens" request) while the dashboard starts.

A pane draws a picture until its mirror is in: a mirror needs the emulator library loaded here
(pyghostty parses its C declarations: about half a second of CPU), a picture needs nothing, so
every pane shows its agent's screen in the dashboard's first frames. A picture never changes;
the mirror that replaces it carries the screen on from its own replay.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from agentdeck.core.screen.terminal.base import CellStyle, Color, Emulator, Modes, Run

_FLAGS = ("bold", "dim", "italic", "underline", "reverse", "strike")


def picture_to_wire(emulator: Emulator) -> dict[str, Any]:
    """The live screen of `emulator` (under its view's lock) as a picture's record."""
    emulator.take_dirty()  # refresh the rows (a backend may draw them only on demand)
    styles: dict[CellStyle, int] = {}
    rows = []
    for y in range(emulator.rows):
        rows.append([[run.text, styles.setdefault(run.style, len(styles))]
                     for run in emulator.row(y)])
    return {"size": [emulator.cols, emulator.rows], "cursor": list(emulator.cursor()),
            "title": emulator.title(), "modes": asdict(emulator.modes()), "rows": rows,
            "styles": [_style_to_wire(style) for style in styles]}


def _style_to_wire(style: CellStyle) -> list[Any]:
    flags = sum(1 << i for i, name in enumerate(_FLAGS) if getattr(style, name))
    return [_color_to_wire(style.fg), _color_to_wire(style.bg), flags, style.link]


def _color_to_wire(color: Color) -> Any:
    return list(color) if isinstance(color, tuple) else color


def _color_from_wire(data: Any) -> Color:
    if isinstance(data, list):
        r, g, b = data
        return (int(r), int(g), int(b))
    return None if data is None else int(data)


def _style_from_wire(data: list[Any]) -> CellStyle:
    fg, bg, flags, link = data
    return CellStyle(_color_from_wire(fg), _color_from_wire(bg), link=link,
                     **{name: bool(int(flags) & (1 << i)) for i, name in enumerate(_FLAGS)})


class Picture:
    """An Emulator showing one picture of a screen (picture_to_wire's record): every read a
    pane makes answers from it; it is never fed (a mirror replaces it)."""

    name = "picture"
    scrollback_limit = 0

    def __init__(self, data: dict[str, Any]) -> None:
        self.cols, self.rows = (int(n) for n in data["size"])
        styles = [_style_from_wire(style) for style in data["styles"]]
        self._rows: list[list[Run]] = [[Run(str(text), styles[index]) for text, index in row]
                                       for row in data["rows"]]
        self._lines = ["".join(run.text for run in row).rstrip() for row in self._rows]
        x, y = data["cursor"]
        self._cursor = (int(x), int(y))
        self._title = str(data.get("title", ""))
        names = {f.name for f in fields(Modes)}
        self._modes = Modes(**{k: v for k, v in data.get("modes", {}).items() if k in names})
        self._dirty = set(range(self.rows))

    def feed(self, data: bytes) -> None:
        raise TypeError("a picture of a screen is not fed: its mirror is")

    def resize(self, cols: int, rows: int) -> None:
        raise TypeError("a picture of a screen keeps its size: its mirror follows the agent's")

    def take_dirty(self) -> set[int]:
        dirty, self._dirty = self._dirty, set()
        return dirty

    def row(self, y: int) -> list[Run]:
        return self._rows[y] if 0 <= y < len(self._rows) else []

    def row_end(self, y: int) -> int | None:
        return None

    def lines(self) -> list[str]:
        return list(self._lines)

    def wrapped_rows(self) -> set[int] | None:
        return None

    def history(self, archived: bool = True) -> list[str]:
        return []

    def styled_history(self, archived: bool = True) -> list[str]:
        return []

    def archive_scrollback(self) -> bool:
        return False

    def screen_continues_history(self) -> bool:
        return False

    def cursor(self) -> tuple[int, int]:
        return self._cursor

    def title(self) -> str:
        return self._title

    def modes(self) -> Modes:
        return self._modes

    def scroll(self, delta: int) -> None:
        pass  # (no scrollback: the pane fetches the session's own to scroll back)

    def scroll_to_bottom(self) -> None:
        pass

    @property
    def scroll_offset(self) -> int:
        return 0

    def close(self) -> None:
        pass
