"""The lead's roster of workers, kept by the session host (the daemon, or a dashboard that
hosts its agents itself): rewritten when an agent is made or removed — by any client, so it
follows the registry file, not one client's actions — and when an agent's state changes. The
lead's brief points at the file; it never carries a copy that goes stale."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from agentdeck.core.agents import briefs
from agentdeck.core.agents.sessions import Event, SessionHost
from agentdeck.core.fleet.registry import READY, AgentRecord, Registry
from agentdeck.core.fleet.spec import Fleet
from agentdeck.core.git.watch import FileWatcher


def ready_records(state_dir: Path) -> list[AgentRecord]:
    """The agents made and on disk: lead first, then in the order they were made."""
    data = Registry(state_dir).load()
    return sorted((r for r in data.agents.values() if r.status == READY
                   and Path(r.worktree).is_dir()),
                  key=lambda r: (0 if r.role == "lead" else 1, r.created_at, r.name))


class RosterKeeper:
    """Keeps the roster current for the host it watches; `on_registry(records)` is told too
    when the registry changed (the daemon refreshes the roles its approval rules use)."""

    def __init__(self, state_dir: Path, fleet: Fleet, host: SessionHost,
                 on_registry: Callable[[list[AgentRecord]], None] = lambda _records: None
                 ) -> None:
        self.state_dir, self.fleet, self.host = state_dir, fleet, host
        self.on_registry = on_registry
        self._states = {i.name: i.state for i in host.sessions()}
        self._lock = threading.Lock()
        # a state change is written by a thread of its own, the latest of those come meanwhile
        # at once: on the emitting thread (an agent's reader, an ACP connection's loop) the
        # registry's read under its file lock and the roster's write stood between an agent's
        # permission request and the next thing it was told
        self._stale = threading.Event()
        self._closed = False
        self._writer = threading.Thread(target=self._keep, name="agentdeck-roster",
                                        daemon=True)
        self._writer.start()
        self._unsubscribe = host.subscribe(self._on_event)
        self._watcher = FileWatcher(Registry(state_dir).path, self.registry_changed).start()
        self.registry_changed()

    def registry_changed(self) -> None:
        records = ready_records(self.state_dir)
        self.on_registry(records)
        self._write(records)

    def _on_event(self, event: Event) -> None:
        if event.kind == "state" and self._states.get(event.name) != event.info.state:
            self._states[event.name] = event.info.state
            self._stale.set()

    def _keep(self) -> None:
        while True:
            self._stale.wait()
            if self._closed:
                return
            self._stale.clear()
            with contextlib.suppress(OSError):  # (the registry unreadable now: next time)
                self._write(ready_records(self.state_dir))

    def _write(self, records: list[AgentRecord]) -> None:
        with self._lock, contextlib.suppress(OSError):
            briefs.write_roster(self.state_dir, self.fleet, records, dict(self._states))

    def close(self) -> None:
        self._unsubscribe()
        self._watcher.stop()
        self._closed = True
        self._stale.set()
        self._writer.join(5.0)
