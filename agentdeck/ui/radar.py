"""The conflict radar in the dashboard: a watcher on the agents' worktrees and the refs
(core/git/watch.py) says whose work changed; a background scan (core/review.radar_notes, with what
earlier scans learnt) looks again at just those and posts what it found (RadarScanned); the
sidebar's radar column shows it. Never on a timer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentdeck.core.errors import AgentdeckError
from agentdeck.core.fleet.registry import AgentRecord
from agentdeck.core.git import review
from agentdeck.core.git.watch import ChangeWatcher, watch_advice
from agentdeck.ui.host_messages import RadarScanned, RadarStale

if TYPE_CHECKING:
    from agentdeck.ui.screens.dashboard import DashboardScreen


class RadarWatch:
    """The dashboard's collaborator for the conflict radar: it tells the screen by messages."""

    def __init__(self, screen: DashboardScreen) -> None:
        self.screen = screen
        self.deck = screen.deck
        self.memo = review.RadarMemo()  # what the radar learnt (scans run on change events)
        self._watcher: ChangeWatcher | None = None
        self._rewatch_due = False  # the watcher starts again after this refresh

    def stale(self, names: set[str] | None) -> None:
        """These agents' work changed (None: a base moved, every agent's): look again."""
        self.memo.stale(names)
        self.scan()

    def scan(self) -> None:
        self.screen.run_worker(self._scan, thread=True, exclusive=True, group="radar",
                               exit_on_error=False)

    def _scan(self) -> None:  # (a worker's thread)
        records = [*self.deck.local_records, *self._fetched_remote()]
        try:
            notes = review.radar_notes(self.deck.ctx, records, self.memo)
        except AgentdeckError:
            return
        self.screen.post_message(RadarScanned(notes))

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
            self.memo.stale({r.name for r in records})  # their tips may have moved
            fetched.extend(records)
        return fetched

    def watch(self) -> None:
        """(Re)start the watcher on the agents' worktrees and the refs (after an agent came or
        went)."""
        if self._watcher is not None:
            self._watcher.stop()
        screen = self.screen

        def changed(names: set[str] | None) -> None:  # (the watcher's thread)
            screen.post_message(RadarStale(names))

        self._watcher = ChangeWatcher(
            self.deck.ctx, self.deck.local_records, changed,
            lambda error: screen.app.call_from_thread(self._cannot_watch, error),
        ).start()

    def _cannot_watch(self, error: str) -> None:
        """The watch failed (inotify's limits, most often): the radar goes on, looking again
        whenever an agent's turn ends, and the user learns how to lift them."""
        advice = watch_advice(error)
        self.screen.notify(f"conflict radar: cannot watch the worktrees ({error}); it looks "
                           "again whenever an agent stops working"
                           + (f". {advice}" if advice else ""),
                           severity="warning", timeout=30 if advice else 10)

    def watch_soon(self) -> None:
        """Once, after the agents added or removed together (a watcher over a few thousand
        files is no small thing to start again for each)."""
        if not self._rewatch_due:
            self._rewatch_due = True
            self.screen.call_after_refresh(self._rewatch)

    def _rewatch(self) -> None:
        self._rewatch_due = False
        if self.screen.is_attached:
            self.watch()

    def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
