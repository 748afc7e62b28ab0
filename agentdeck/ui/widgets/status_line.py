"""StatusLine: the line over the dashboard's footer — how many prompts wait, the agents counted
by state and what the fleet has spent; while the keyboard is an agent's, that, unmistakably, and
the way back. It keeps the app's title too ("agentdeck — 2 waiting"): what a terminal's tab
shows. Bound to the dashboard's reactives."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

from agentdeck.core.oversight.approvals import Entry
from agentdeck.ui.widgets.agent_list import AgentRow


class StatusLine(Static):
    rows: reactive[dict[str, AgentRow]] = reactive(dict, init=False)
    approvals: reactive[tuple[Entry, ...]] = reactive(tuple, init=False)
    typing: reactive[str | None] = reactive(None, init=False)  # the agent the keys go to
    spend: reactive[str] = reactive("", init=False)  # "12.3k tok $1.24"

    def __init__(self, release_label: str, *, id: str | None = None) -> None:
        """`release_label`: the key that gives the keyboard back, as the user types it."""
        super().__init__(id=id)
        self.release_label = release_label

    def on_mount(self) -> None:
        self._redraw()

    def _redraw(self) -> None:
        waiting = len(self.approvals)
        self.app.title = f"agentdeck — {waiting} waiting" if waiting else "agentdeck"
        prefix = f"[b reverse] {waiting} waiting [/] " if waiting else ""
        if self.typing is not None:  # unmistakable: every key now goes to the agent
            self.update(f"{prefix}[b reverse] typing into {self.typing} — "
                        f"{self.release_label} to return [/]")
            return
        counts: dict[str, int] = {}
        for row in self.rows.values():
            counts[row.state] = counts.get(row.state, 0) + 1
        # (the waiting count is the badge in front)
        parts = [f"{n} {state}" for state, n in sorted(counts.items()) if state != "waiting"]
        if self.spend:
            parts.append(self.spend)
        self.update(f"{prefix}{' · '.join(parts)}")

    # (any of them changed: the line is drawn anew, once per change)
    watch_rows = watch_approvals = watch_typing = watch_spend = _redraw
