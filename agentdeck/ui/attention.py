"""Desktop notifications sent through the terminal, so they work over ssh and need no
notification daemon: OSC 777 (Ghostty, WezTerm, foot, rxvt) and OSC 9 (iTerm2, kitty, Windows
Terminal). A terminal that knows neither ignores both. Inside tmux each goes through tmux's
passthrough (`set -g allow-passthrough on`) to the terminal tmux runs in."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from agentdeck.core.agents.sessions import fleet_spend
from agentdeck.core.oversight.alerts import desktop_notification
from agentdeck.core.oversight.approvals import Entry
from agentdeck.ui.widgets.terminal_pane import TerminalPane

if TYPE_CHECKING:
    from agentdeck.ui.app import AgentdeckApp

    _Base = AgentdeckApp
else:
    _Base = object


class Attention(_Base):
    """A part of AgentdeckApp: what tells the user a prompt waits (the bell, a desktop
    notification, their command, the title and the status line) and what mode they are in."""

    def watch_approvals(self, old: tuple[Entry, ...], new: tuple[Entry, ...]) -> None:
        for info in list(self._infos.values()):
            self._apply_info(info)  # an agent with an entry is waiting
        known = {e.id for e in old}
        fresh = [e for e in new if e.id not in known]
        if fresh:
            newest = fresh[-1]
            if self.deck.fleet.dashboard.bell:
                self.bell()
            if self.deck.fleet.dashboard.desktop:
                self._desktop_notify(f"agentdeck: {newest.agent} waits",
                                     f"{newest.kind}: {newest.summary}")
            if not self.deck.persistent:  # a daemon runs the user's command itself
                self.deck.notify_command(newest.agent, newest.summary)
        self._update_status()
        if bool(old) != bool(new):
            self._fit_footer()  # the answer keys show while a prompt waits

    def _update_status(self) -> None:
        if not self._dashboard_up:
            return
        waiting = len(self.approvals)
        counts: dict[str, int] = {}
        for row in self.rows.values():
            counts[row.state] = counts.get(row.state, 0) + 1
        # (the waiting count is the badge in front)
        parts = [f"{n} {state}" for state, n in sorted(counts.items()) if state != "waiting"]
        spent = fleet_spend(self._infos.values())
        if spent:
            parts.append(spent)
        self.title = f"agentdeck — {waiting} waiting" if waiting else "agentdeck"
        focus = self.focused
        prefix = f"[b reverse] {waiting} waiting [/] " if waiting else ""
        if isinstance(focus, TerminalPane):
            # unmistakable: every key now goes to the agent
            self._status.update(
                f"{prefix}[b reverse] typing into {focus.agent} — "
                f"{self.release_key_label} to return [/]")
        else:
            self._status.update(f"{prefix}{' · '.join(parts)}")

    def _desktop_notify(self, title: str, body: str) -> None:
        driver = self._driver
        if driver is not None and not self.is_headless:
            driver.write(desktop_notification(title, body, tmux="TMUX" in os.environ))
            driver.flush()

    @property
    def release_key_label(self) -> str:
        return self.release_key.replace("right_square_bracket", "]")
