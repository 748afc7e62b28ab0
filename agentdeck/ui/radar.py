"""The conflict radar in the dashboard: a watcher on the agents' worktrees and the refs
(core/git/watch.py) says whose work changed; a background scan (core/review.radar_notes, with what
earlier scans learnt) looks again at just those; the sidebar's radar column shows the result.
Never on a timer. A part of AgentdeckApp."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from textual import work

from agentdeck.core.errors import AgentdeckError
from agentdeck.core.fleet.registry import AgentRecord
from agentdeck.core.git import review
from agentdeck.core.git.watch import ChangeWatcher, watch_advice
from agentdeck.ui.host_messages import RadarStale

if TYPE_CHECKING:
    from agentdeck.ui.app import AgentdeckApp

    _Base = AgentdeckApp
else:
    _Base = object


class RadarWatch(_Base):
    @work(thread=True, exclusive=True, group="radar", exit_on_error=False)
    def scan_radar(self) -> None:
        records = [*self.deck.local_records, *self._fetched_remote()]
        try:
            notes = review.radar_notes(self.deck.ctx, records, self._radar)
        except AgentdeckError:
            return
        self.call_from_thread(self._show_radar, notes)

    def _fetched_remote(self) -> list[AgentRecord]:
        """Other hosts' agents whose branches were just fetched here (their committed work is
        compared with this machine's); a host that cannot be reached now is left out."""
        from agentdeck.core.agents import remote

        fetched: list[AgentRecord] = []
        by_host: dict[str, list[AgentRecord]] = {}
        for rec in self.deck.records:
            if rec.host:
                by_host.setdefault(rec.host, []).append(rec)
        for host, records in by_host.items():
            try:
                remote.fetch_branches(self.deck.ctx, self.deck.fleet, host,
                                      [r.branch for r in records])
            except AgentdeckError:
                continue
            self._radar.stale({r.name for r in records})  # their tips may have moved
            fetched.extend(records)
        return fetched

    def _watch_changes(self) -> None:
        """(Re)start the watcher on the agents' worktrees and the refs (after an agent came or
        went)."""
        if self._watcher is not None:
            self._watcher.stop()
        self._watcher = ChangeWatcher(
            self.deck.ctx, self.deck.local_records,
            lambda names: self.post_message(RadarStale(names)),
            lambda error: self.call_from_thread(self._cannot_watch, error),
        ).start()

    def _cannot_watch(self, error: str) -> None:
        """The watch failed (inotify's limits, most often): the radar goes on, looking again
        whenever an agent's turn ends (_apply_info), and the user learns how to lift them."""
        advice = watch_advice(error)
        self.notify(f"conflict radar: cannot watch the worktrees ({error}); it looks again "
                    "whenever an agent stops working" + (f". {advice}" if advice else ""),
                    severity="warning", timeout=30 if advice else 10)

    def _watch_changes_soon(self) -> None:
        """Once, after the agents added or removed together (a watcher over a few thousand
        files is no small thing to start again for each)."""
        if not self._rewatch_due:
            self._rewatch_due = True
            self.call_after_refresh(self._rewatch)

    def _rewatch(self) -> None:
        self._rewatch_due = False
        if self._dashboard.is_attached:
            self._watch_changes()

    def on_radar_stale(self, message: RadarStale) -> None:
        self._radar.stale(message.names)
        self.scan_radar()

    def _show_radar(self, notes: dict[str, str]) -> None:
        rows = {name: replace(row, radar=notes[name]) if name in notes else row
                for name, row in self.rows.items()}
        self.rows = rows  # (unchanged rows compare equal: nothing redraws for them)

    def on_review_screen_merged(self) -> None:  # (by name: the review loads when opened)
        self._radar.stale(None)  # a base moved: every agent's work compares anew
        self.scan_radar()
