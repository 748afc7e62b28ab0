"""Desktop notifications sent through the terminal, so they work over ssh and need no
notification daemon: OSC 777 (Ghostty, WezTerm, foot, rxvt) and OSC 9 (iTerm2, kitty, Windows
Terminal). A terminal that knows neither ignores both. Inside tmux each goes through tmux's
passthrough (`set -g allow-passthrough on`) to the terminal tmux runs in."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

from textual.driver import Driver

from agentdeck.core.agents.sessions import SessionInfo
from agentdeck.core.oversight.approvals import Entry

if TYPE_CHECKING:
    from agentdeck.ui.app import AgentdeckApp
    from agentdeck.ui.screens.dashboard import DashboardScreen

_UNSAFE = re.compile(r"[\x00-\x1f\x7f;]")


def desktop_notification(title: str, body: str, tmux: bool = False) -> str:
    # the text comes from an agent's screen: no control characters may reach the terminal
    title, body = _UNSAFE.sub(" ", title)[:80], _UNSAFE.sub(" ", body)[:200]
    sequences = [f"\x1b]777;notify;{title};{body}\x1b\\", f"\x1b]9;{title}: {body}\x1b\\"]
    if tmux:  # DCS tmux; … ST, each ESC inside doubled
        sequences = ["\x1bPtmux;" + seq.replace("\x1b", "\x1b\x1b") + "\x1b\\"
                     for seq in sequences]
    return "".join(sequences)



def fleet_spend(infos: Iterable[SessionInfo]) -> str:
    """What the whole fleet has used: "12.3k tok $1.24" (the cost of those that report one)."""
    infos = list(infos)
    tokens = sum(i.tokens_in + i.tokens_out for i in infos)
    costs = [i.cost for i in infos if i.cost is not None]
    if not tokens and not costs:
        return ""
    text = f"{tokens / 1000:.1f}k tok" if tokens >= 1000 else f"{tokens} tok"
    return text + (f" ${sum(costs):.2f}" if costs else "")


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
