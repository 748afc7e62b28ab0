"""How the dashboard fits its window and what it offers beyond single keys: the layout by
width (ui/layout.py), the agents' terminal size, zoom, the agent table in narrow windows, help,
themes and the command palette. A part of AgentdeckApp."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual import events, work
from textual.app import SystemCommand
from textual.screen import Screen
from textual.widgets import DataTable

from agentdeck.core.oversight.approvals import ALLOW, ALWAYS, DENY
from agentdeck.ui import layout
from agentdeck.ui.widgets.terminal_pane import TerminalPane

if TYPE_CHECKING:
    from agentdeck.ui.app import AgentdeckApp

    _Base = AgentdeckApp
else:
    _Base = object

RESIZE_SETTLE = 0.3  # a window resize reaches the agents once it has rested this long


class WindowFit(_Base):
    def _layout_panes(self) -> None:
        """One column for one agent, two up to four, three beyond."""
        count = len(self.rows)
        columns = 1 if count <= 1 else 2 if count <= 4 else 3
        self.query_one("#panes").styles.grid_size_columns = columns

    def home_size(self) -> tuple[int, int]:
        """Every agent's terminal size: the area a pane has when zoomed in this window, never
        below the fleet's `dashboard.agent_size` — not its grid cell nor what the queue leaves,
        so a grid, a new prompt, a narrow window or a phone never re-wraps an agent's screen
        (and never hides its prompt)."""
        return layout.agent_size((self.size.width, self.size.height),
                                 self.deck.fleet.dashboard.agent_size)

    def _fit(self, width: int) -> None:
        """What the window's width changes beyond CSS: the table's columns and the footer."""
        if self._dashboard.is_attached:
            # beside the panes the sidebar takes its width from the window; else the CSS's
            self.query_one("#sidebar").styles.width = layout.sidebar_width(width)
        self._fit_footer(width)
        self._show_queued_agent(width)

    def _one_pane(self, width: int | None = None) -> bool:
        return layout.mode_for(width or self.size.width) in layout.ONE_PANE

    def _show_queued_agent(self, width: int | None = None) -> None:
        """Where one pane is shown at a time (narrow, a phone): while prompts wait, it is the
        agent of the highlighted request — the one `y` answers — so no prompt is answered
        unseen. `width`: the window's new width (on a resize)."""
        if not self._dashboard_up or not self._one_pane(width):
            return
        self._arrows_to_the_queue()
        entry = self._approvals.selected if self.approvals else None
        if entry is not None and entry.agent in self.rows and entry.agent != self.selected:
            self._select(entry.agent)

    def _arrows_to_the_queue(self) -> None:
        """One pane at a time, the agent table hidden: the arrow keys move through the queue
        while it holds requests (they went to nothing, or to that hidden table)."""
        if self.screen is not self._dashboard or self._dashboard.has_class("-agents-shown"):
            return  # (a dialog on top keeps its keys; a table in view has them)
        table = self._approvals.query_one("#approval-table", DataTable)
        if self.approvals and self.focused in (None, self._agent_list):
            table.focus()
        elif not self.approvals and self.focused is table:
            self._agent_list.focus()

    def _highlight_request_of(self, name: str | None) -> None:
        """The user chose an agent to look at (one pane at a time): its request, if it has
        one, is the highlighted one — what is shown is what `y` answers."""
        if not self._dashboard_up or not self._one_pane():
            return
        entry = next((e for e in self.approvals if e.agent == name), None)
        table = self._approvals.query_one("#approval-table", DataTable)
        if entry is not None and str(entry.id) in table.rows and (
                self._approvals.selected != entry):
            table.move_cursor(row=table.get_row_index(str(entry.id)))

    def _fit_footer(self, width: int | None = None) -> None:
        """`width`: the window's new width (on a resize, `self.size` still has the old)."""
        hidden, compact = layout.footer_fit(width or self.size.width, bool(self.approvals))
        for footer in self.query(layout.DeckFooter):
            footer.fit(hidden, compact)

    def _start_with_sizes(self) -> None:
        self._home = self.home_size()
        if not self.viewer:  # agents a daemon already runs take this dashboard's size too
            self._apply_home(self._home)
        self.start_agents({pane.agent: self._home for pane in self.query(TerminalPane)})

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)
        # a terminal resize reaches the agents once, after the user stops dragging
        if self._home_timer is not None:
            self._home_timer.stop()
        self._home_timer = self.set_timer(RESIZE_SETTLE, self._resize_agents)

    def _resize_agents(self) -> None:
        self._home_timer = None
        if not self.screen_stack or not self._dashboard.is_attached:
            return  # the dashboard closed while the resize settled
        home = self.home_size()
        if self.viewer or self._home is None or home == self._home:
            return
        self._home = home
        self._apply_home(home)

    @work(thread=True, exclusive=True, group="home-size", exit_on_error=False)
    def _apply_home(self, size: tuple[int, int]) -> None:
        self.deck.host.set_home_size(*size)

    def action_zoom(self) -> None:
        """The selected agent's pane alone, as large as the window allows (the queue stays in
        view); again: back to every pane."""
        self._dashboard.toggle_class("-zoomed")
        if self._dashboard.has_class("-zoomed"):
            self._dashboard.remove_class("-agents-shown")

    def action_toggle_agents(self) -> None:
        """Where the window is too narrow for the agent table beside the panes: show it (in
        the pane's place), or hide it again."""
        self._dashboard.toggle_class("-agents-shown")
        if self._dashboard.has_class("-agents-shown"):
            self._dashboard.remove_class("-zoomed")
            self._agent_list.focus()

    def action_help(self) -> None:
        screen = self.screen
        title = "dashboard" if screen is self._dashboard else type(screen).__name__.removesuffix(
            "Screen").lower()
        from agentdeck.ui.screens.help import NAVIGATION, HelpScreen, describe, screen_keys

        keys = describe(screen_keys(screen))
        if screen is self._dashboard:
            keys = NAVIGATION + keys
        self.push_screen(HelpScreen(title, keys, self.release_key_label))

    def action_next_theme(self) -> None:
        names = list(self.themes.themes)
        current = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(current + 1) % len(names)]
        self.notify(f"theme: {self.theme}")

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for name in self.themes.themes:
            yield SystemCommand(f"Theme: {name}", f"Switch to the {name} theme",
                                lambda n=name: setattr(self, "theme", n))
        for decision, label in ((ALLOW, "Allow"), (ALWAYS, "Allow always"), (DENY, "Deny")):
            yield SystemCommand(f"{label} the selected prompt", "Answer the approvals queue",
                                lambda d=decision: self.action_answer(d))
        yield SystemCommand("Zoom the selected pane", "Toggle one pane / all panes",
                            self.action_zoom)
        yield SystemCommand("Help", "Every key of this screen, and the fleet file's dashboard "
                            "keys", self.action_help)
        yield SystemCommand("Show or hide the agent table", "Where the window is narrow",
                            self.action_toggle_agents)
        yield SystemCommand("Spawn an agent", "A new worktree, branch, port, env and database",
                            self.action_spawn)
        yield SystemCommand("Review the selected agent", "Its diff, conflicts, feedback and "
                            "merge", self.action_review)
        yield SystemCommand("Message the selected agent", "Typed into its pane, then "
                            "submitted", self.action_message)
        yield SystemCommand("Broadcast a message", "To every marked agent (none marked: every "
                            "worker)", self.action_broadcast)
        yield SystemCommand("Stop the selected agent", "End it and every process it started "
                            "(its worktree, port and database stay)", self.action_stop_agent)
        yield SystemCommand("Restart the selected agent", "Stop it and start it again, resuming "
                            "(or start an agent that exited)", self.action_restart_agent)
        for name in self.rows:
            whose = f"{name}'" if name.endswith("s") else f"{name}'s"
            yield SystemCommand(f"Type into {name}", f"Give the keyboard to {whose} pane",
                                lambda n=name: self.action_enter_pane(n))
