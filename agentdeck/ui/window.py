"""How the dashboard fits its window: the layout by width (ui/layout.py) beyond what CSS does,
the one pane shown at a time where the window is narrow, and the agents' terminal size."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.timer import Timer
from textual.widgets import DataTable

from agentdeck.ui import layout
from agentdeck.ui.widgets.terminal_pane import TerminalPane

if TYPE_CHECKING:
    from agentdeck.ui.screens.dashboard import DashboardScreen

RESIZE_SETTLE = 0.3  # a window resize reaches the agents once it has rested this long


class WindowFit:
    """The dashboard's collaborator for its window's size."""

    def __init__(self, screen: DashboardScreen) -> None:
        self.screen = screen
        self.home: tuple[int, int] | None = None  # the agents' terminal size, once started
        self.home_timer: Timer | None = None  # a resize settling

    def layout_panes(self) -> None:
        """One column for one agent, two up to four, three beyond."""
        count = len(self.screen.rows)
        columns = 1 if count <= 1 else 2 if count <= 4 else 3
        self.screen.query_one("#panes").styles.grid_size_columns = columns

    def home_size(self) -> tuple[int, int]:
        """Every agent's terminal size: the area a pane has when zoomed in this window, never
        below the fleet's `dashboard.agent_size` — not its grid cell nor what the queue leaves,
        so a grid, a new prompt, a narrow window or a phone never re-wraps an agent's screen
        (and never hides its prompt)."""
        size = self.screen.app.size
        return layout.agent_size((size.width, size.height),
                                 self.screen.deck.fleet.dashboard.agent_size)

    def fit(self, width: int) -> None:
        """What the window's width changes beyond CSS: the table's columns and the footer."""
        # beside the panes the sidebar takes its width from the window; else the CSS's
        self.screen.query_one("#sidebar").styles.width = layout.sidebar_width(width)
        self.fit_footer(width)
        self.show_queued_agent(width)

    def one_pane(self, width: int | None = None) -> bool:
        return layout.mode_for(width or self.screen.app.size.width) in layout.ONE_PANE

    def show_queued_agent(self, width: int | None = None) -> None:
        """Where one pane is shown at a time (narrow, a phone): while prompts wait, it is the
        agent of the highlighted request — the one `y` answers — so no prompt is answered
        unseen. `width`: the window's new width (on a resize)."""
        screen = self.screen
        if not screen.up or not self.one_pane(width):
            return
        self._arrows_to_the_queue()
        entry = screen.approvals_list.selected if screen.approvals else None
        if entry is not None and entry.agent in screen.rows and entry.agent != screen.selected:
            screen.select(entry.agent)

    def _arrows_to_the_queue(self) -> None:
        """One pane at a time, the agent table hidden: the arrow keys move through the queue
        while it holds requests (they went to nothing, or to that hidden table)."""
        screen = self.screen
        if screen.app.screen is not screen or screen.has_class("-agents-shown"):
            return  # (a dialog on top keeps its keys; a table in view has them)
        table = screen.approvals_list.query_one("#approval-table", DataTable)
        if screen.approvals and screen.focused in (None, screen.agent_list):
            table.focus()
        elif not screen.approvals and screen.focused is table:
            screen.agent_list.focus()

    def highlight_request_of(self, name: str | None) -> None:
        """The user chose an agent to look at (one pane at a time): its request, if it has
        one, is the highlighted one — what is shown is what `y` answers."""
        screen = self.screen
        if not screen.up or not self.one_pane():
            return
        entry = next((e for e in screen.approvals if e.agent == name), None)
        queue = screen.approvals_list
        table = queue.query_one("#approval-table", DataTable)
        if entry is not None and str(entry.id) in table.rows and queue.selected != entry:
            table.move_cursor(row=table.get_row_index(str(entry.id)))

    def zoom(self) -> None:
        """The selected agent's pane alone, as large as the window allows (the queue stays in
        view); again: back to every pane."""
        screen = self.screen
        screen.toggle_class("-zoomed")
        if screen.has_class("-zoomed"):
            screen.remove_class("-agents-shown")

    def toggle_agents(self) -> None:
        """Where the window is too narrow for the agent table beside the panes: show it (in
        the pane's place), or hide it again."""
        screen = self.screen
        screen.toggle_class("-agents-shown")
        if screen.has_class("-agents-shown"):
            screen.remove_class("-zoomed")
            screen.agent_list.focus()

    def fit_footer(self, width: int | None = None) -> None:
        """`width`: the window's new width (on a resize, the app's size still has the old)."""
        hidden, compact = layout.footer_fit(width or self.screen.app.size.width,
                                            bool(self.screen.approvals))
        for footer in self.screen.query(layout.DeckFooter):
            footer.fit(hidden, compact)

    def start_with_sizes(self) -> None:
        self.home = self.home_size()
        if not self.screen.viewer:  # agents a daemon already runs take this dashboard's size
            self._apply_home(self.home)
        self.screen.agents.start_all({pane.agent: self.home
                                  for pane in self.screen.query(TerminalPane)})

    def resized(self, width: int) -> None:
        """The window changed size (whichever screen is on top)."""
        if not self.screen.up:
            return  # (its on_mount fits it to the window)
        self.fit(width)
        # a terminal resize reaches the agents once, after the user stops dragging
        if self.home_timer is not None:
            self.home_timer.stop()
        self.home_timer = self.screen.set_timer(RESIZE_SETTLE, self._resize_agents)

    def _resize_agents(self) -> None:
        self.home_timer = None
        if not self.screen.is_attached:
            return  # the dashboard closed while the resize settled
        home = self.home_size()
        if self.screen.viewer or self.home is None or home == self.home:
            return
        self.home = home
        self._apply_home(home)

    def _apply_home(self, size: tuple[int, int]) -> None:
        host = self.screen.deck.host
        self.screen.run_worker(lambda: host.set_home_size(*size), thread=True, exclusive=True,
                               group="home-size", exit_on_error=False)

    def stop(self) -> None:
        if self.home_timer is not None:
            self.home_timer.stop()
