"""Scrolling back in a pane (a part of TerminalPane): through a still copy of the screen and its
whole scrollback, taken when the user first scrolls back — the live grid keeps only its last
lines (the rest is in the session host's archive) and a daemon's mirror only the screen's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.message import Message

from agentdeck.core.agents.sessions import TerminalView
from agentdeck.core.errors import OperationError

if TYPE_CHECKING:
    from agentdeck.ui.widgets.terminal_pane import TerminalPane

    _Base = TerminalPane
else:
    _Base = object


class ScrollBack(_Base):
    class HistoryReady(Message):
        """The scrollback to scroll through arrived (fetched off the event loop)."""

        def __init__(self, view: TerminalView | None, delta: int, error: str = "") -> None:
            super().__init__()
            self.view, self.delta, self.error = view, delta, error

    def _init_scrollback(self) -> None:
        self._scrolled = 0  # lines up into the scrollback
        self._history: TerminalView | None = None  # the still copy, while scrolled back
        self._fetching = False
        self._pending = 0  # lines scrolled while the copy was being fetched
        self._extra = 0  # rows above the copy's viewport shown by a pane shorter than it
        self._copy_version = -1  # the live screen's version when the copy was taken
        self._copy_lines = 0  # the copy's scrollback lines (to go on past them)
        self._behind = False  # the agent printed more since the copy was taken

    def scroll_lines(self, delta: int) -> None:
        """Scroll back (delta < 0) or forward, in lines, through a still copy of the screen and
        its scrollback, fetched off the event loop at the first step back (from the daemon, for
        a mirror); steps taken meanwhile add up. Past the copy's bottom the pane goes on into
        what the agent printed since (a newer copy), then follows the live screen again."""
        if self._fetching:
            self._pending += delta
            return
        view = self._history
        if view is None:
            if delta < 0 and self._live() is not None:
                self._fetch(delta)
            return
        spare = max(0, self._screen_size[1] - self.content_size.height)  # rows a short pane hides
        if delta > 0:  # down: the rows above the viewport first
            used = min(delta, self._extra)
            self._extra, delta = self._extra - used, delta - used
        with view as emulator:
            before = emulator.scroll_offset
            emulator.scroll(delta)
            offset = emulator.scroll_offset
            emulator.take_dirty()
        if delta < 0:  # up past the copy's top: the rows a short pane hides above it
            self._extra = min(spare, self._extra + (-delta - (offset - before)))
        self._scrolled = offset + self._extra
        if self._scrolled == 0:
            left = delta - (before - offset)  # lines down not taken by the copy
            self._history = None
            if self._behind and left > 0:
                self._fetch(0, go_on=left)  # on into what came since the copy
                return
        self._redraw_all()

    def _fetch(self, delta: int, go_on: int = 0) -> None:
        live = self._live()
        self._fetching, self._pending = True, delta
        self._copy_version = live.version if live is not None else -1
        self._fetch_history(go_on)

    @work(thread=True, exit_on_error=False, group="scrollback")
    def _fetch_history(self, go_on: int) -> None:
        try:
            self.post_message(self.HistoryReady(self.host.scrollback(self.agent), go_on))
        except (OperationError, KeyError, OSError) as exc:
            self.post_message(self.HistoryReady(None, go_on, str(exc)))

    def on_scroll_back_history_ready(self, message: HistoryReady) -> None:
        message.stop()
        if not self._fetching:
            return  # the user typed (back to the live screen) while it was fetched
        self._fetching = False
        if message.view is None:
            self.notify(f"{self.agent}: no scrollback ({message.error})", severity="warning")
            return
        with message.view as emulator:
            lines = len(emulator.history())
        # going on past an older copy: its bottom is as far above this one's as the lines the
        # agent printed since (not knowable once the scrollback is full: then the live screen)
        since = lines - self._copy_lines if message.delta and lines < emulator.scrollback_limit \
            else 0
        self._copy_lines, self._behind, self._extra = lines, False, 0
        self._history, self._scrolled = message.view, 0
        delta, self._pending = self._pending - since + message.delta, 0
        if message.delta and since - message.delta <= 0:
            self._history = None  # nothing in between: the live screen
            self._redraw_all()
            return
        self.scroll_lines(delta)

    def scroll_to_live(self) -> None:
        self._fetching = False  # (a scrollback still being fetched is not shown)
        if self._history is None:
            return
        self._history, self._scrolled, self._extra, self._behind = None, 0, 0, False
        self._redraw_all()

