"""TerminalPane: one agent's live terminal.

It draws with the Line API from the session's emulator, re-reading only the rows the emulator
reports dirty, when the app tells it the session has new output, on its screen's beat
(pane_beat: the selected pane at most 30 times a second, the others together 10 times), a pane
not shown (hidden by the layout, under another screen) not at all until it shows again — so a
fleet printing costs a bounded number of frames and an idle pane costs nothing. When
focused it forwards every key (and pastes, bracketed when the program asked for it) to the
agent, except the release key, which hands focus back to the dashboard.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual import events, on
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from agentdeck.core.agents.sessions import SessionHost, TerminalView
from agentdeck.core.screen.terminal import Emulator
from agentdeck.core.screen.terminal.base import Run, row_runs
from agentdeck.ui.viewport import cut_note, pane_view
from agentdeck.ui.widgets.pane_beat import beat_of
from agentdeck.ui.widgets.pane_input import focus_bytes, key_bytes, paste_bytes
from agentdeck.ui.widgets.pane_strips import ByIdentity, Frame, Row, RowMaker, with_cursor
from agentdeck.ui.widgets.scrollback import ScrollBack


class TerminalPane(Widget, can_focus=False):
    """A live agent terminal. Typing into it is an explicit mode (`i`, or a click on it): only
    then can it take focus — Tab, Enter on a queue row or a new agent never put the keyboard in
    an agent's pane, where the next `y` would be typed into the agent. The release key ends it.
    """

    DEFAULT_CSS = """
    TerminalPane {
        border: round $foreground 35%;
        border-title-color: $text;
        border-subtitle-color: $text-muted;
        height: 1fr;
        min-height: 6;
        background: $background;
    }
    TerminalPane.-selected { border: round $secondary; }
    TerminalPane.-waiting { border: heavy $warning; border-title-color: $warning; }
    TerminalPane.-failed { border: round $error; }
    TerminalPane:focus { border: double $accent; border-title-color: $accent; }
    """

    # whether the pane reads its session: the dashboard draws its first frame before any pane
    # does (attaching a mirror loads the emulator library and replays a screen, work that
    # would only hold the first frame back)
    live: reactive[bool] = reactive(True, init=False)

    class Released(Message):
        """The user pressed the release key: focus goes back to the dashboard."""

    class TypingRequested(Message):
        """The user clicked the pane: they want to type into its agent."""

        def __init__(self, agent: str) -> None:
            super().__init__()
            self.agent = agent

    def __init__(self, host: SessionHost, agent: str, release_key: str,
                 send: Callable[[str, bytes], None], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.host = host
        self.agent = agent
        self.release_key = release_key
        self.send = send
        self._seen = -1
        self._drawn: TerminalView | None = None  # the screen the rows in the cache came from
        self._cache: dict[int, Row] = {}  # rows as drawn, by pane row
        self._cache_style: Style | None = None  # the pane's ground they were drawn on
        self._maker: RowMaker | None = None  # (for that ground and the app's recolouring)
        # rows drawn, by the emulator's runs they were drawn from (the same list for the same
        # row content: a row scrolled up is drawn from it again at no cost)
        self._by_runs: ByIdentity[list[Run], tuple[int, Row]] = ByIdentity()  # (width, row)
        # the rows handed to the compositor, content rows framed by the pane itself
        self._frame = Frame(self, super().render_lines, self._drop_rows)
        self._cursor: tuple[int, int] | None = None  # in pane rows
        self._top = 0  # the agent's screen row drawn on the pane's first row
        self.back = ScrollBack(self)  # scrolling back through a still copy of the screen
        self._wide = False  # some visible row's text runs past the right edge
        self._title = ""  # the window title the agent set
        # the host's "read" for the output the pane was told of: called when the pane reads it
        # (until then no more news of that agent comes: it would say the same)
        self._taken: Callable[[], None] | None = None
        self._stale = False  # output arrived while the pane was not shown
        self.screen_size = (0, 0)  # the agent's terminal (cols, rows)
        self._sized = False
        self.border_title = agent
        # shown in the footer while typing: the one key that is not the agent's
        label = release_key.replace("right_square_bracket", "]")
        self._bindings.bind(release_key, "release", f"back to dashboard ({label})")

    def start_typing(self) -> None:
        """Typing mode: the keyboard goes to the agent until the release key."""
        self.can_focus = True
        self.focus()

    def action_release(self) -> None:  # the footer's entry; on_key handles the key itself
        self._release()

    def _release(self) -> None:
        self.can_focus = False
        self.post_message(self.Released())

    def on_mount(self) -> None:
        # the screen's beat calls poll() when the session has new output (pane_beat);
        # this slow tick only catches a session that started after the pane got its size, and
        # a synchronized frame left open (shown once overdue); otherwise it rests (idle panes
        # cost no wakeups)
        self._tick = self.set_interval(1.0, self.poll)
        self.app.screen_change_signal.subscribe(self, self._screen_changed)

    def on_show(self) -> None:
        self._catch_up()

    def _screen_changed(self, screen: object) -> None:
        if screen is self.screen:  # back on top (a review, a dialog closed)
            self.call_after_refresh(self._catch_up)

    def _catch_up(self) -> None:
        if self._stale and self._shown():
            self._stale = False
            self.poll()

    def _shown(self) -> bool:
        """Whether the user sees this pane now: laid out with some area, on the screen on top
        (the compositor draws nothing of a screen under another)."""
        try:
            return bool(self.display and self.region.area and self.screen.is_current)
        except Exception:  # (no screen yet, or being removed)
            return False

    # -- drawing ------------------------------------------------------------------------------
    def watch_live(self, live: bool) -> None:
        if live:
            self.poll()

    def live_view(self) -> TerminalView | None:
        if not self.live:  # (asking starts a mirror's attach: not before the first frame)
            return None
        return self._terminal()

    def _terminal(self) -> TerminalView | None:
        """The agent's terminal. What the user types reaches it through this even before the
        dashboard's first frame is drawn (a key typed then was lost)."""
        try:
            return self.host.terminal(self.agent)
        except KeyError:  # its session is still being started
            return None

    def _view(self) -> TerminalView | None:
        """What the pane draws: the scrollback while scrolled back, else the live screen."""
        return self.back.history if self.back.history is not None else self.live_view()

    def poll_soon(self, taken: Callable[[], None] | None = None) -> None:
        """Redraw for new output on the screen's beat (pane_beat); a pane not shown when it
        shows again. The last output is always drawn. `taken`: called when the output is
        read."""
        if taken is not None:
            self._taken = taken
        if not self._shown():
            self._stale = True
            return
        beat_of(self.screen).add(self)

    @property
    def fast(self) -> bool:
        """Drawn at every tick of the beat: the selected pane, and one typed into (its echo)."""
        return self.has_focus or self.has_class("-selected")

    def on_unmount(self) -> None:
        self._read_news()  # (its agent's next output is news again, for whoever shows it)
        with contextlib.suppress(Exception):  # (no screen left: nor a beat holding it)
            beat_of(self.screen).discard(self)

    def _read_news(self) -> None:
        taken, self._taken = self._taken, None
        if taken is not None:
            taken()

    def poll(self) -> None:
        self._read_news()  # (before reading: output after this is told anew)
        if self.back.history is not None and self.back.note_behind():  # (printed more)
            self._show_cut()
        view = self._view()
        if view is None:
            return
        if view is not self._drawn:
            # another screen (a mirror made anew after a reconnect, the scrollback's copy):
            # none of the rows drawn from the last one stand
            self._drawn = view
            self._seen = -1
            self.screen_size = (0, 0)
        if not self._sized:  # the session started after the pane got its size
            self._sized = True
            self.sync_size()
        if view.frame_open:
            with view:  # a mirror has no watcher of its own: an overdue frame shows from here
                view.release_overdue_frame()
        if view.frame_open:
            self._tick.resume()
        else:
            self._tick.pause()
        if view.version == self._seen:
            return
        with view as emulator:
            self._seen = view.version
            dirty = emulator.take_dirty()
            cursor = emulator.cursor() if emulator.scroll_offset == 0 else None
            top, wide = self._top_for(emulator, cursor)
            size = (emulator.cols, emulator.rows)
            title = "".join(c for c in emulator.title() if c.isprintable())
        if title != self._title:  # the window title the agent set (OSC 0/2): in the border
            self._title = title
            self._show_cut()
        if (top, size, wide) != (self._top, self.screen_size, self._wide):
            # the viewport moved over the agent's screen (or the screen changed size): all of it
            self._top, self.screen_size, self._wide = top, size, wide
            self._cursor = None if cursor is None else (cursor[0], cursor[1] - top)
            self._cache.clear()
            self._show_cut()
            self.refresh()
            return
        height = self.content_size.height
        dirty = {y - top for y in dirty if top <= y < top + height}  # (the rows it shows)
        if cursor is not None:
            cursor = (cursor[0], cursor[1] - top)
        if cursor != self._cursor:
            for old_or_new in (self._cursor, cursor):
                if old_or_new is not None:
                    dirty.add(old_or_new[1])
            self._cursor = cursor
        for y in dirty:
            self._cache.pop(y, None)
        if dirty:
            # each run of changed rows on its own (a spinner at the bottom and a line at the
            # top are two rows to draw, not the screen between them); regions are relative to
            # the content area (Textual adds the border offset)
            # whole rows, the border columns too (relative to the content area: from -1): a
            # region narrower than the pane has every strip cropped to it
            width = self.content_size.width + 2
            self.refresh(*(Region(-1, first, width, last - first + 1)
                           for first, last in row_runs(dirty)))

    def _top_for(self, emulator: Emulator, cursor: tuple[int, int] | None) -> tuple[int, bool]:
        """Which row of the agent's screen the pane starts at, and whether text is cut at its
        right edge (viewport.pane_view)."""
        height, width = self.content_size.height, self.content_size.width
        if not height or (height >= emulator.rows and width >= emulator.cols):
            return 0, False
        shown = cursor is not None and emulator.modes().cursor_visible
        return pane_view(emulator.lines(), emulator.rows, emulator.cols, height, width,
                         cursor[1] if shown and cursor else None,
                         self.back.extra if self.back.history is not None else None)

    def _show_cut(self) -> None:
        """Mark a pane that shows only part of its agent's screen; zoom shows it whole."""
        cut = cut_note(*self.screen_size, self._top, self.content_size.height, self._wide)
        # (first: while scrolled back, where you are matters most, and the border may cut)
        back = f"scrollback −{self.back.scrolled}" if self.back.history is not None else ""
        if back and self.back.behind:
            back += " · more output below"
        self.border_subtitle = " · ".join(x for x in (back, cut, self._title) if x)

    def render_lines(self, crop: Region) -> list[Strip]:
        base = self._ground()  # (after a change of style: the rows drawn on the old ground go)
        width, height = self.content_size  # (read once a frame: Textual computes it each time)
        return self._frame.lines(crop, lambda y: self._content_row(y, width, height, base),
                                 (str(self.border_title), str(self.border_subtitle)))

    def _content_row(self, y: int, width: int, height: int, base: Style) -> Row:
        row = self._cache.get(y)
        if row is None:
            row = self._cache[y] = self._row_of(self._runs(y), width, height, base)
        if self.has_focus and self._cursor is not None and self._cursor[1] == y:
            return list(with_cursor(Strip(row, width), self._cursor[0], width, base))
        return row

    def _drop_rows(self) -> None:
        self._cache.clear()
        self._by_runs.clear()
        self._maker = None

    def _ground(self) -> Style:
        """The pane's own style beneath every cell, read once per style change (the rows drawn
        on the old one are dropped)."""
        if self._cache_style is None:
            self._drop_rows()
            self._cache_style = self.rich_style
        return self._cache_style

    def render_line(self, y: int) -> Strip:  # (Textual's pipeline: a pane Frame cannot draw)
        width, height = self.content_size
        return Strip(self._content_row(y, width, height, self._ground()), width)

    def _runs(self, y: int) -> list[Run] | None:
        """The agent's screen row on pane row `y` (None: no screen to show yet)."""
        view = self._view()
        if view is None:
            return None
        row = y + self._top
        with view as emulator:
            return emulator.row(row) if row < emulator.rows else []

    def _row_of(self, runs: list[Run] | None, width: int, height: int, base: Style) -> Row:
        """A row of the agent's screen as drawn (pane_strips.RowMaker). The emulator hands
        the same runs for the same row content, so a row that output scrolled up a row is the
        row drawn for it before (nothing is made for it)."""
        if runs is None:
            return [Segment(" " * width, base)]
        drawn = self._by_runs.get(runs)
        if drawn is not None and drawn[0] == width:
            return drawn[1]
        if self._maker is None:
            self._maker = RowMaker(base, self._frame.recolor)
        row = self._maker.row(runs, width)
        if runs:
            self._by_runs.put(runs, (width, row), 4 * height + 16)
        return row

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache_style = None  # (a theme change: every row drawn anew on its new ground)
        self._frame.restyled()  # (a class or focus: the border's colour or kind)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return container.height

    def on_resize(self, event: events.Resize) -> None:
        self.sync_size()

    def sync_size(self) -> None:
        """The pane changed size. The agent's terminal does not follow: its size is its home
        size, set by the dashboard for every agent at once; the pane shows what fits."""
        self._cache.clear()
        self._seen = -1
        self.screen_size = (0, 0)  # recompute the viewport at the next poll
        self.call_after_refresh(self.poll)

    def on_focus(self) -> None:
        self._focus_event(True)
        self._cache.clear()
        self.refresh()

    def on_blur(self) -> None:
        self.can_focus = False  # typing mode ends however focus left (a click elsewhere)
        self._focus_event(False)
        self._cache.clear()
        self.refresh()

    def _focus_event(self, focused: bool) -> None:
        view = self._terminal()
        data = focus_bytes(view, focused) if view is not None else b""
        if data:
            self.send(self.agent, data)

    # -- input --------------------------------------------------------------------------------
    async def on_key(self, event: events.Key) -> None:
        if not self.has_focus:
            return
        event.stop()
        event.prevent_default()
        if event.key == self.release_key:
            self._release()
            return
        view = self._terminal()
        data = key_bytes(view, event.key, event.character) if view is not None else b""
        if data:
            self.back.to_live()
            self.send(self.agent, data)

    def on_paste(self, event: events.Paste) -> None:
        if not self.has_focus:
            return
        event.stop()
        view = self._terminal()
        if view is not None:
            self.send(self.agent, paste_bytes(view, event.text))

    def redraw_all(self) -> None:
        self._cache.clear()
        self._cursor = None
        self._seen = -1
        self.screen_size = (0, 0)
        self.poll()
        self.refresh()

    @on(ScrollBack.HistoryReady)
    def _history_ready(self, message: ScrollBack.HistoryReady) -> None:
        message.stop()
        self.back.history_ready(message)

    def on_click(self, event: events.Click) -> None:
        if not self.has_focus:
            self.post_message(self.TypingRequested(self.agent))

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.back.scroll_lines(-3)

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.back.scroll_lines(3)
