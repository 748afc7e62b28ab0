"""Scrolling back in a pane (TerminalPane's collaborator): through a still copy of the screen and
its whole scrollback, taken when the user first scrolls back — the live grid keeps only its last
lines (the rest is in the session host's archive) and a daemon's mirror only the screen's. The
copy is fetched in a worker's thread, which hands it to the pane as a message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from agentdeck.core.agents.sessions import TerminalView
from agentdeck.core.errors import OperationError

if TYPE_CHECKING:
    from agentdeck.ui.widgets.terminal_pane import TerminalPane


class ScrollBack:
    class HistoryReady(Message):
        """The scrollback to scroll through arrived (fetched off the event loop)."""

        def __init__(self, view: TerminalView | None, delta: int, error: str = "") -> None:
            super().__init__()
            self.view, self.delta, self.error = view, delta, error

    def __init__(self, pane: TerminalPane) -> None:
        self.pane = pane
        self.scrolled = 0  # lines up into the scrollback
        self.history: TerminalView | None = None  # the still copy, while scrolled back
        self._fetching = False
        self._pending = 0  # lines scrolled while the copy was being fetched
        self.extra = 0  # rows above the copy's viewport shown by a pane shorter than it
        self._copy_version = -1  # the live screen's version when the copy was taken
        self._copy_lines = 0  # the copy's scrollback lines (to go on past them)
        self.behind = False  # the agent printed more since the copy was taken

    def note_behind(self) -> bool:
        """While scrolled back: whether the agent printed more since the copy was taken
        changed (the pane says so)."""
        live = self.pane.live_view()
        behind = live is not None and live.version != self._copy_version
        changed, self.behind = behind != self.behind, behind
        return changed

    def scroll_lines(self, delta: int) -> None:
        """Scroll back (delta < 0) or forward, in lines, through a still copy of the screen and
        its scrollback, fetched off the event loop at the first step back (from the daemon, for
        a mirror); steps taken meanwhile add up. Past the copy's bottom the pane goes on into
        what the agent printed since (a newer copy), then follows the live screen again."""
        if self._fetching:
            self._pending += delta
            return
        view = self.history
        if view is None:
            if delta < 0 and self.pane.live_view() is not None:
                self._fetch(delta)
            return
        pane = self.pane
        spare = max(0, pane.screen_size[1] - pane.content_size.height)  # a short pane's hidden
        if delta > 0:  # down: the rows above the viewport first
            used = min(delta, self.extra)
            self.extra, delta = self.extra - used, delta - used
        with view as emulator:
            before = emulator.scroll_offset
            emulator.scroll(delta)
            offset = emulator.scroll_offset
            emulator.take_dirty()
        if delta < 0:  # up past the copy's top: the rows a short pane hides above it
            self.extra = min(spare, self.extra + (-delta - (offset - before)))
        self.scrolled = offset + self.extra
        if self.scrolled == 0:
            left = delta - (before - offset)  # lines down not taken by the copy
            self.history = None
            if self.behind and left > 0:
                self._fetch(0, go_on=left)  # on into what came since the copy
                return
        self.pane.redraw_all()

    def _fetch(self, delta: int, go_on: int = 0) -> None:
        live = self.pane.live_view()
        self._fetching, self._pending = True, delta
        self._copy_version = live.version if live is not None else -1
        self.pane.run_worker(lambda: self._fetch_history(go_on), thread=True,
                             exit_on_error=False, group="scrollback")

    def _fetch_history(self, go_on: int) -> None:  # (a worker's thread)
        pane = self.pane
        try:
            pane.post_message(self.HistoryReady(pane.host.scrollback(pane.agent), go_on))
        except (OperationError, KeyError, OSError) as exc:
            pane.post_message(self.HistoryReady(None, go_on, str(exc)))

    def history_ready(self, message: HistoryReady) -> None:
        if not self._fetching:
            return  # the user typed (back to the live screen) while it was fetched
        self._fetching = False
        if message.view is None:
            self.pane.notify(f"{self.pane.agent}: no scrollback ({message.error})",
                             severity="warning")
            return
        with message.view as emulator:
            lines = len(emulator.history())
        # going on past an older copy: its bottom is as far above this one's as the lines the
        # agent printed since (not knowable once the scrollback is full: then the live screen)
        since = lines - self._copy_lines if message.delta and lines < emulator.scrollback_limit \
            else 0
        self._copy_lines, self.behind, self.extra = lines, False, 0
        self.history, self.scrolled = message.view, 0
        delta, self._pending = self._pending - since + message.delta, 0
        if message.delta and since - message.delta <= 0:
            self.history = None  # nothing in between: the live screen
            self.pane.redraw_all()
            return
        self.scroll_lines(delta)

    def to_live(self) -> None:
        self._fetching = False  # (a scrollback still being fetched is not shown)
        if self.history is None:
            return
        self.history, self.scrolled, self.extra, self.behind = None, 0, 0, False
        self.pane.redraw_all()

