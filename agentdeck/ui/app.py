"""The agentdeck app: what is app-wide — the themes, the keymap, the command palette, help and
quit. What it shows is the dashboard screen (ui/screens/dashboard.py) and the screens opened
from it (review, spawn, a message, help)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.screen import Screen

from agentdeck.core.deck import Deck
from agentdeck.core.oversight.approvals import ALLOW, ALWAYS, DENY
from agentdeck.ui import layout
from agentdeck.ui.attention import keeping
from agentdeck.ui.bindings import DASHBOARD_BINDINGS, HELP, QUIT
from agentdeck.ui.keymap import load_keymap
from agentdeck.ui.screens.dashboard import DashboardScreen
from agentdeck.ui.themes import DEFAULT_THEME, Themes, check_theme, load_themes
from agentdeck.ui.widgets.agent_list import AgentList
from agentdeck.ui.widgets.terminal_pane import TerminalPane

if TYPE_CHECKING:
    from agentdeck.ui.screens.compare import CompareScreen
    from agentdeck.ui.screens.review import ReviewScreen


class AgentdeckApp(App[None]):
    """agentdeck: every agent live, every permission prompt in one queue."""

    TITLE = "agentdeck"
    CSS_PATH = "app.tcss"
    # see ui/layout.py: wide, medium, narrow (one pane at a time) and phone
    # (not annotated: Textual's `ClassVar[…] | None` reads to mypy as an instance variable)
    HORIZONTAL_BREAKPOINTS = layout.BREAKPOINTS
    VERTICAL_BREAKPOINTS = layout.HEIGHT_BREAKPOINTS
    # help on every screen, quit on the dashboard (ctrl+q too); the dashboard's own keys are
    # its screen's
    BINDINGS: ClassVar[list[BindingType]] = [HELP, QUIT]

    def __init__(self, deck: Deck, theme: str | None = None, viewer: bool = False,
                 themes: Themes | None = None) -> None:
        """`viewer`: this dashboard only watches (a browser through `agentdeck serve`): it never
        changes the agents' terminal size. `themes`: the theme files already read."""
        super().__init__()
        self.deck = deck
        self.themes = themes or load_themes()
        for theme_obj in self.themes.themes.values():
            self.register_theme(theme_obj)
        chosen = theme or deck.fleet.dashboard.theme or DEFAULT_THEME
        check_theme(chosen, self.themes)
        self.theme = chosen
        self.release_key = deck.fleet.dashboard.release_key
        self._driver_kept: Driver | None = None
        self.dashboard = DashboardScreen(deck, self.release_key, self.release_key_label, viewer)
        if os.environ.get("NO_COLOR"):  # https://no-color.org: marks that need no colour
            self.add_class("-no-color")
        if viewer:  # in a browser: answers are buttons to tap or click, in every layout
            self.add_class("-web")

    def get_default_screen(self) -> Screen[None]:
        return self.dashboard

    def get_driver_class(self) -> type[Driver]:
        return keeping(super().get_driver_class(), self._keep_driver)

    def _keep_driver(self, driver: Driver) -> None:
        self._driver_kept = driver

    def write_to_terminal(self, text: str) -> None:
        """Escape sequences for the terminal itself (a desktop notification), in order with
        the frames."""
        if self._driver_kept is not None:
            self._driver_kept.write(text)
            self._driver_kept.flush()

    async def on_mount(self) -> None:
        ids = list(dict.fromkeys(b.id for b in (*DASHBOARD_BINDINGS, QUIT, *AgentList.BINDINGS)
                                 if isinstance(b, Binding) and b.id))
        keymap, problems = load_keymap(self.deck.fleet.dashboard.keys, ids)
        if keymap:
            self.set_keymap(keymap)
        for problem in [*problems, *self.themes.problems]:
            self.notify(problem, severity="warning", timeout=10)
        # The dashboard composes in its own task; the app is ready (its first frame, a test's
        # first look) once the dashboard is whole, as when it was the app's own compose.
        await self.dashboard.mounted.wait()

    def on_resize(self, event: events.Resize) -> None:
        # the dashboard fits the window whichever screen is on top (a review, a dialog)
        self.dashboard.fit.resized(event.size.width)

    @property
    def release_key_label(self) -> str:
        return self.release_key.replace("right_square_bracket", "]")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # while typing into a pane every key is the agent's: the footer shows only the way back
        if self.screen_stack and isinstance(self.screen.focused, TerminalPane):
            return action in ("release", "command_palette")
        # another screen (review, a dialog) has its own keys: quitting is the dashboard's
        if self.screen_stack and self.screen is not self.dashboard:
            return action not in ("quit", "next_theme")
        return True

    async def action_quit(self) -> None:
        """Quit; agents that would stop with this dashboard (it hosts them itself, as the demo
        does) are named and the user asked first."""
        running = sorted(i.name for i in self.deck.host.sessions() if i.process == "running")
        if self.deck.persistent or not running:
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        from agentdeck.ui.screens.confirm import Confirm

        self.push_screen(Confirm(
            f"Quit, and stop {len(running)} agent{'s' * (len(running) != 1)}?",
            f"{', '.join(running)} run in this dashboard and stop when it closes (their "
            "worktrees, ports and databases stay). Agents started with a session host keep "
            "running when its dashboard quits."), answered)

    def action_help(self) -> None:
        screen = self.screen
        title = "dashboard" if screen is self.dashboard else type(screen).__name__.removesuffix(
            "Screen").lower()
        from agentdeck.ui.screens.help import NAVIGATION, HelpScreen, describe, screen_keys

        keys = describe(screen_keys(screen))
        if screen is self.dashboard:
            keys = NAVIGATION + keys
        self.push_screen(HelpScreen(title, keys, self.release_key_label))

    def action_next_theme(self) -> None:
        names = list(self.themes.themes)
        current = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(current + 1) % len(names)]
        self.notify(f"theme: {self.theme}")

    # (by name, so the review screen's module loads only when a review opens; its messages
    # come to the app, the dashboard is below it)
    async def on_review_screen_removed(self, message: ReviewScreen.Removed) -> None:
        await self.dashboard.agents.removed(message.name)

    def on_review_screen_merged(self) -> None:
        self.dashboard.radar.stale(None)  # a base moved: every agent's work compares anew

    async def on_compare_screen_kept(self, message: CompareScreen.Kept) -> None:
        for name in message.removed:  # the siblings' panes and rows go
            await self.dashboard.agents.removed(name)

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for name in self.themes.themes:
            yield SystemCommand(f"Theme: {name}", f"Switch to the {name} theme",
                                lambda n=name: setattr(self, "theme", n))
        deck = self.dashboard
        for decision, label in ((ALLOW, "Allow"), (ALWAYS, "Allow always"), (DENY, "Deny")):
            yield SystemCommand(f"{label} the selected prompt", "Answer the approvals queue",
                                lambda d=decision: deck.action_answer(d))
        yield SystemCommand("Zoom the selected pane", "Toggle one pane / all panes",
                            deck.action_zoom)
        yield SystemCommand("Help", "Every key of this screen, and the fleet file's dashboard "
                            "keys", self.action_help)
        yield SystemCommand("Show or hide the agent table", "Where the window is narrow",
                            deck.action_toggle_agents)
        yield SystemCommand("Spawn an agent", "A new worktree, branch, port, env and database",
                            deck.action_spawn)
        yield SystemCommand("Review the selected agent", "Its diff, conflicts, feedback and "
                            "merge", deck.action_review)
        yield SystemCommand("Compare candidates", "A fanout's candidates side by side; keep "
                            "one", deck.action_compare)
        yield SystemCommand("Send the failing check to the selected agent", "Its output, as a "
                            "message (held while a prompt waits)", deck.action_send_failure)
        yield SystemCommand("Message the selected agent", "Typed into its pane, then "
                            "submitted", deck.action_message)
        yield SystemCommand("Broadcast a message", "To every marked agent (none marked: every "
                            "worker)", deck.action_broadcast)
        yield SystemCommand("Stop the selected agent", "End it and every process it started "
                            "(its worktree, port and database stay)", deck.action_stop_agent)
        yield SystemCommand("Restart the selected agent", "Stop it and start it again, resuming "
                            "(or start an agent that exited)", deck.action_restart_agent)
        for name in deck.rows:
            whose = f"{name}'" if name.endswith("s") else f"{name}'s"
            yield SystemCommand(f"Type into {name}", f"Give the keyboard to {whose} pane",
                                lambda n=name: deck.action_enter_pane(n))
