"""pyte behind the Emulator interface: pure Python, for platforms without a Ghostty wheel."""

from __future__ import annotations

import inspect

import pyte
from pyte import modes as pyte_modes
from wcwidth import wcwidth

from agentdeck.core.screen.terminal.base import CellStyle, Color, Modes, Run, group_runs

_NAMED = {"black": 0, "red": 1, "green": 2, "brown": 3, "yellow": 3, "blue": 4, "magenta": 5,
          "cyan": 6, "white": 7, "brightblack": 8, "brightred": 9, "brightgreen": 10,
          "brightbrown": 11, "brightyellow": 11, "brightblue": 12, "brightmagenta": 13,
          "brightcyan": 14, "brightwhite": 15}
_APP_CURSOR = pyte_modes.DECAPP if hasattr(pyte_modes, "DECAPP") else 1 << 5
_BRACKETED_PASTE = 2004 << 5
_ALT_SCREENS = (1049 << 5, 1047 << 5, 47 << 5)


def _color(value: str) -> Color:
    if value == "default":
        return None
    if value in _NAMED:
        return _NAMED[value]
    if len(value) == 6:
        try:
            return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))
        except ValueError:
            return None
    return None


class _Dirty(set[int]):
    """pyte's dirty rows, each also marked in `text` (the rows whose text the detectors have
    not read again): the pane's reading (take_dirty) empties this set, not that one."""

    def __init__(self, rows: object = (), text: set[int] | None = None) -> None:
        super().__init__(rows)  # type: ignore[call-overload]
        self.text: set[int] = set(self) if text is None else text | set(self)

    def add(self, row: int) -> None:
        super().add(row)
        self.text.add(row)

    def update(self, *rows: object) -> None:
        for some in rows:
            some = list(some)  # type: ignore[call-overload]
            super().update(some)
            self.text.update(some)


class _Screen(pyte.HistoryScreen):
    """HistoryScreen that also tracks the private modes pyte parses but does not act on."""

    _dirty: _Dirty

    @property
    def dirty(self) -> _Dirty:
        return self._dirty

    @dirty.setter
    def dirty(self, rows: set[int]) -> None:  # (pyte sets a new set after a page move)
        self._dirty = _Dirty(rows, getattr(self, "_dirty", None) and self._dirty.text)

    def select_graphic_rendition(self, *attrs: int, private: bool = False) -> None:
        # "CSI > … m" (xterm's modifyOtherKeys, sent by Ink programs such as Gemini CLI) is a
        # key-reporting setting, not a colour: pyte would otherwise raise on it
        if not private:
            super().select_graphic_rendition(*attrs)

    def set_mode(self, *modes: int, **kwargs: bool) -> None:
        super().set_mode(*modes, **kwargs)
        if kwargs.get("private"):
            self.mode.update(m << 5 for m in modes)

    def reset_mode(self, *modes: int, **kwargs: bool) -> None:
        super().reset_mode(*modes, **kwargs)
        if kwargs.get("private"):
            self.mode.difference_update(m << 5 for m in modes)


def _ignoring_private(base):
    def handler(self, *args, private: bool = False, **kwargs):
        if not private:
            return base(self, *args, **kwargs)
        return None
    return handler


# A private CSI ("CSI ? 6 n", a colour-scheme query "CSI ? 996 n", …) reaches pyte's handler
# with private=True, and most handlers do not take it: the TypeError ended pyte's parser for
# good (Copilot CLI's start). Private forms of those are queries or settings pyte does not act
# on (agentdeck answers queries itself, see terminal/replies): they are ignored.
for _name in set(pyte.ByteStream.csi.values()):
    _base = getattr(_Screen, _name)
    _params = inspect.signature(_base).parameters.values()
    if _name not in vars(_Screen) and not any(
            p.name == "private" or p.kind is p.VAR_KEYWORD for p in _params):
        setattr(_Screen, _name, _ignoring_private(_base))


class PyteEmulator:
    name = "pyte"

    def __init__(self, cols: int = 80, rows: int = 24, scrollback: int = 10_000) -> None:
        self.cols, self.rows, self.scrollback_limit = cols, rows, scrollback
        self._screen = _Screen(cols, rows, history=scrollback, ratio=0.001)
        self._stream = pyte.ByteStream(self._screen)
        self._styles: dict[tuple[object, ...], CellStyle] = {}
        self._offset = 0
        self._all_dirty = True
        self._text = [""] * rows  # each row's text, kept for the rows pyte did not mark dirty
        self._text_stale = True  # every row's text to be read again (a resize, a scroll)

    def feed(self, data: bytes) -> None:
        if self._offset:
            self.scroll_to_bottom()
        self._stream.feed(data)

    def resize(self, cols: int, rows: int) -> None:
        if (cols, rows) == (self.cols, self.rows) or cols < 1 or rows < 1:
            return
        self._screen.resize(rows, cols)
        self.cols, self.rows = cols, rows
        self._all_dirty = True
        self._text, self._text_stale = [""] * rows, True

    def take_dirty(self) -> set[int]:
        if self._all_dirty:
            self._all_dirty = False
            self._screen.dirty.clear()
            return set(range(self.rows))
        dirty = {y for y in self._screen.dirty if 0 <= y < self.rows}
        self._screen.dirty.clear()
        return dirty

    def row(self, y: int) -> list[Run]:
        screen = self._screen
        line = screen.buffer[y]
        chars: list[str] = []
        styles: list[CellStyle] = []
        skip = False
        for x in range(self.cols):
            if skip:
                skip = False
                continue
            char = line[x]
            data = char.data or " "
            if data > "\x7f" and wcwidth(data[0]) == 2:
                skip = True
            key = (char.fg, char.bg, char.bold, char.italics, char.underscore, char.reverse,
                   char.strikethrough)
            style = self._styles.get(key)
            if style is None:
                style = self._styles[key] = CellStyle(
                    fg=_color(char.fg), bg=_color(char.bg), bold=char.bold, italic=char.italics,
                    underline=char.underscore, reverse=char.reverse, strike=char.strikethrough)
            chars.append(data)
            styles.append(style)
        return group_runs(chars, styles)

    def lines(self) -> list[str]:
        if self._offset:
            # display reflects the viewport; the live screen is what detectors must see
            saved = self._offset
            self.scroll_to_bottom()
            out = [line.rstrip() for line in self._screen.display]
            self.scroll(-saved)
            return out
        stale = self._screen.dirty.text
        if self._text_stale:
            self._text = [line.rstrip() for line in self._screen.display]
        else:
            for y in stale:
                if 0 <= y < self.rows:
                    self._text[y] = self._row_text(y)
        stale.clear()
        self._text_stale = False
        return list(self._text)

    def _row_text(self, y: int) -> str:
        """One row as pyte's display shows it (a wide character's second cell left out)."""
        line, chars, skip = self._screen.buffer[y], [], False
        for x in range(self.cols):
            if skip:
                skip = False
                continue
            data = line[x].data
            skip = bool(data) and data > "\x7f" and wcwidth(data[0]) == 2
            chars.append(data)
        return "".join(chars).rstrip()

    def wrapped_rows(self) -> None:
        return None  # pyte does not record soft wraps

    def styled_history(self, archived: bool = True) -> list[str]:
        return self.history()  # (pyte's scrollback: text only)

    def archive_scrollback(self) -> bool:
        return False  # (pyte is the fallback: its scrollback stays in its own lines)

    def history(self, archived: bool = True) -> list[str]:
        cols = self.cols
        return ["".join(line[x].data for x in range(cols)).rstrip()
                for line in self._screen.history.top]

    def row_end(self, y: int) -> int | None:
        return None  # pyte does not tell a written space from an empty cell

    def screen_continues_history(self) -> bool:
        return False  # pyte keeps no soft-wrap marks

    def cursor(self) -> tuple[int, int]:
        return self._screen.cursor.x, self._screen.cursor.y

    def modes(self) -> Modes:
        mode = self._screen.mode
        return Modes(app_cursor=_APP_CURSOR in mode, bracketed_paste=_BRACKETED_PASTE in mode,
                     alt_screen=any(m in mode for m in _ALT_SCREENS),
                     cursor_visible=not self._screen.cursor.hidden,
                     focus_events=(1004 << 5) in mode)

    def title(self) -> str:
        return str(self._screen.title or "")

    def scroll(self, delta: int) -> None:
        step = self._line_up if delta < 0 else self._line_down
        for _ in range(abs(delta)):
            if not step():
                break
        self._all_dirty = self._text_stale = True

    def _line_up(self) -> bool:
        screen = self._screen
        if not screen.history.top:
            return False
        screen.history.bottom.appendleft(screen.buffer[screen.lines - 1])
        for y in range(screen.lines - 1, 0, -1):
            screen.buffer[y] = screen.buffer[y - 1]
        screen.buffer[0] = screen.history.top.pop()
        self._offset += 1
        return True

    def _line_down(self) -> bool:
        screen = self._screen
        if not screen.history.bottom:
            return False
        screen.history.top.append(screen.buffer[0])
        for y in range(screen.lines - 1):
            screen.buffer[y] = screen.buffer[y + 1]
        screen.buffer[screen.lines - 1] = screen.history.bottom.popleft()
        self._offset -= 1
        return True

    def scroll_to_bottom(self) -> None:
        while self._offset > 0 and self._screen.history.bottom:
            self._line_down()
        self._offset = 0
        self._all_dirty = self._text_stale = True

    @property
    def scroll_offset(self) -> int:
        return self._offset

    def close(self) -> None:
        pass
