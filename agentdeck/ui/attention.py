"""What tells the user a new prompt waits, beyond the queue and the status line: the terminal's
bell, a desktop notification sent through the terminal (so it works over ssh and needs no
notification daemon; the escapes are core/oversight/alerts.desktop_notification's), and, with no
session host to do it, their own `notify.command`."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from textual.driver import Driver

from agentdeck.core.oversight.alerts import desktop_notification
from agentdeck.core.oversight.approvals import Entry

if TYPE_CHECKING:
    from agentdeck.ui.app import AgentdeckApp
    from agentdeck.ui.screens.dashboard import DashboardScreen


class Attention:
    """The dashboard's collaborator for what tells the user a new prompt waits beyond the queue
    and the status line: the bell, a desktop notification, their own command."""

    def __init__(self, screen: DashboardScreen) -> None:
        self.screen = screen

    def prompted(self, old: tuple[Entry, ...], new: tuple[Entry, ...]) -> None:
        known = {e.id for e in old}
        fresh = [e for e in new if e.id not in known]
        if not fresh:
            return
        # (the dashboard runs in agentdeck's app only)
        newest, deck, app = fresh[-1], self.screen.deck, cast("AgentdeckApp", self.screen.app)
        if deck.fleet.dashboard.bell:
            app.bell()
        if deck.fleet.dashboard.desktop and not app.is_headless:
            app.write_to_terminal(desktop_notification(
                f"agentdeck: {newest.agent} waits", f"{newest.kind}: {newest.summary}",
                tmux="TMUX" in os.environ))
        if not deck.persistent:  # a daemon runs the user's command itself
            deck.notify_command(newest.agent, newest.summary)


def keeping(driver_class: type[Driver], keep: Callable[[Driver], None]) -> type[Driver]:
    """`driver_class`, each driver it makes handed to `keep`: Textual keeps the app's driver
    private, and a desktop notification must go through it (its writer thread), in order with
    the frames, or its escape sequence could land inside one."""

    class Kept(driver_class):  # type: ignore[misc,valid-type]  # (a base known at run time)
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            keep(self)

    return Kept
