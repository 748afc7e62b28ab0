"""TerminalPane: one agent's live terminal.

It draws with the Line API from the session's emulator, re-reading only the rows the emulator
reports dirty, when the app tells it the session has new output (at most 30 times a second, so
a flood of output costs at most 30 redraws a second and an idle pane costs nothing). When
focused it forwards every key (and pastes, bracketed when the program asked for it) to the
agent, except the release key, which hands focus back to the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from agentdeck.core.keys import encode_key, encode_paste
from agentdeck.core.sessions import SessionHost, TerminalView
from agentdeck.core.terminal import CellStyle, Color

REFRESH_HZ = 30
CURSOR = Style(reverse=True)


def _rich_color(color: Color) -> RichColor | None:
    if color is None:
        return None
    if isinstance(color, int):
        return RichColor.from_ansi(color)
    return RichColor.from_rgb(*color)


class TerminalPane(Widget, can_focus=True):
    """A live agent terminal. Focus it (Enter or i on the agent) to type into the agent."""

    DEFAULT_CSS = """
    TerminalPane {
        border: round $panel-lighten-2;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        height: 1fr;
        min-height: 6;
        background: $background;
    }
    TerminalPane.-selected { border: round $secondary; }
    TerminalPane.-waiting { border: heavy $warning; border-title-color: $warning; }
    TerminalPane.-failed { border: round $error; }
    TerminalPane:focus { border: double $accent; }
    """

    class Released(Message):
        """The user pressed the release key: focus goes back to the dashboard."""

    class Scrolled(Message):
        def __init__(self, offset: int) -> None:
            super().__init__()
            self.offset = offset

    def __init__(self, host: SessionHost, agent: str, release_key: str,
                 send: Callable[[str, bytes], None], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.host = host
        self.agent = agent
        self.release_key = release_key
        self.send = send
        self._seen = -1
        self._cache: dict[int, Strip] = {}
        self._styles: dict[CellStyle, Style] = {}
        self._cursor: tuple[int, int] | None = None
        self._sized = False
        self.border_title = agent

    def on_mount(self) -> None:
        # the app calls poll() when the session has new output (at most REFRESH_HZ a second);
        # this slow tick only catches a session that started after the pane got its size
        self.set_interval(1.0, self.poll)

    # -- drawing ------------------------------------------------------------------------------
    def _view(self) -> TerminalView | None:
        try:
            return self.host.terminal(self.agent)
        except KeyError:  # its session is still being started
            return None

    def poll(self) -> None:
        view = self._view()
        if view is None:
            return
        if not self._sized:  # the session started after the pane got its size
            self._sized = True
            self.sync_size()
        if view.version == self._seen:
            return
        with view as emulator:
            self._seen = view.version
            dirty = emulator.take_dirty()
            cursor = emulator.cursor() if emulator.scroll_offset == 0 else None
        if cursor != self._cursor:
            for old_or_new in (self._cursor, cursor):
                if old_or_new is not None:
                    dirty.add(old_or_new[1])
            self._cursor = cursor
        for y in dirty:
            self._cache.pop(y, None)
        if dirty:
            top, bottom = min(dirty), max(dirty)
            # regions are relative to the content area (Textual adds the border offset)
            self.refresh(Region(0, top, self.content_size.width, bottom - top + 1))

    def _style(self, cell: CellStyle) -> Style:
        style = self._styles.get(cell)
        if style is None:
            style = self._styles[cell] = Style(
                color=_rich_color(cell.fg), bgcolor=_rich_color(cell.bg), bold=cell.bold or None,
                dim=cell.dim or None, italic=cell.italic or None,
                underline=cell.underline or None, reverse=cell.reverse or None,
                strike=cell.strike or None)
        return style

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        strip = self._cache.get(y)
        if strip is None:
            view = self._view()
            if view is None:
                return Strip.blank(width)
            with view as emulator:
                runs = emulator.row(y)
            segments = [Segment(run.text, self._style(run.style)) for run in runs]
            strip = self._cache[y] = Strip(segments)
        if self.has_focus and self._cursor is not None and self._cursor[1] == y:
            x = self._cursor[0]
            strip = strip.adjust_cell_length(max(width, x + 1))  # the cursor may sit past the text
            strip = Strip.join([strip.crop(0, x), strip.crop(x, x + 1).apply_style(CURSOR),
                                strip.crop(x + 1)])
        return strip.adjust_cell_length(width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return container.height

    def on_resize(self, event: events.Resize) -> None:
        self.sync_size()

    def sync_size(self) -> None:
        size = self.content_size
        if size.width and size.height:
            self.host.resize(self.agent, size.width, size.height)
        self._cache.clear()
        self._seen = -1

    def on_focus(self) -> None:
        self._cache.clear()
        self.refresh()

    def on_blur(self) -> None:
        self._cache.clear()
        self.refresh()

    # -- input --------------------------------------------------------------------------------
    async def on_key(self, event: events.Key) -> None:
        if not self.has_focus:
            return
        event.stop()
        event.prevent_default()
        if event.key == self.release_key:
            self.post_message(self.Released())
            return
        view = self._view()
        if view is None:
            return
        with view as emulator:
            app_cursor = emulator.modes().app_cursor
        data = encode_key(event.key, event.character, app_cursor)
        if data:
            self.scroll_to_live()
            self.send(self.agent, data)

    def on_paste(self, event: events.Paste) -> None:
        if not self.has_focus:
            return
        event.stop()
        view = self._view()
        if view is None:
            return
        with view as emulator:
            bracketed = emulator.modes().bracketed_paste
        self.send(self.agent, encode_paste(event.text, bracketed))

    def scroll_lines(self, delta: int) -> None:
        view = self._view()
        if view is None:
            return
        with view as emulator:
            emulator.scroll(delta)
            offset = emulator.scroll_offset
            emulator.take_dirty()
        self._cache.clear()
        self._cursor = None
        self.border_subtitle = f"scrollback −{offset}" if offset else ""
        self.refresh()

    def scroll_to_live(self) -> None:
        view = self._view()
        if view is None:
            return
        with view as emulator:
            if emulator.scroll_offset == 0:
                return
            emulator.scroll_to_bottom()
        self.border_subtitle = ""
        self._cache.clear()
        self._seen = -1

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.scroll_lines(-3)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.scroll_lines(3)
