"""One fleet over several machines, as the dashboard sees it: `HostSet` routes each agent to the
session host that runs it (this machine's daemon, or a host's through its SshLink), and
`QueueSet` is one approvals queue across them — each entry says its host, and carries an id of
the dashboard's own that maps to (host, that host's daemon, its entry), so an answer reaches
only the daemon that queued the prompt."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from agentdeck.core.agents.acp.conversation import conversation_since
from agentdeck.core.agents.sessions import SessionHost, SessionInfo, SessionSpec, TerminalView
from agentdeck.core.agents.sessions.host import Listener
from agentdeck.core.errors import OperationError
from agentdeck.core.listeners import Listeners
from agentdeck.core.oversight.approvals import Decision, Entry, QueueView, StaleAnswer
from agentdeck.core.screen.detect import Detection

if TYPE_CHECKING:
    from agentdeck.core.deck import Deck
    from agentdeck.core.fleet.registry import AgentRecord
    from agentdeck.core.fleet.spec import Fleet
    from agentdeck.core.git.repo import RepoContext
    from agentdeck.daemon.client import RemoteHost

LOCAL = ""  # this machine's host name in the sets


class HostSet(SessionHost):
    def __init__(self, hosts: Mapping[str, SessionHost], where: dict[str, str]) -> None:
        """`hosts`: by host name (LOCAL for this machine's); `where`: agent → host name (kept
        current by the deck as agents come and go)."""
        self.hosts = dict(hosts)
        self.where = where

    def host_of(self, name: str) -> SessionHost:
        return self.hosts[self.where.get(name, LOCAL)]

    def spawn(self, spec: SessionSpec) -> SessionInfo:
        return self.host_of(spec.name).spawn(spec)

    def write(self, name: str, data: bytes) -> None:
        self.host_of(name).write(name, data)

    def resize(self, name: str, cols: int, rows: int) -> None:
        self.host_of(name).resize(name, cols, rows)

    def prefetch_screens(self) -> None:
        for host in self.hosts.values():
            host.prefetch_screens()

    def mirror_screens(self) -> None:
        for host in self.hosts.values():
            host.mirror_screens()

    def set_home_size(self, cols: int, rows: int) -> None:
        for host in self.hosts.values():
            host.set_home_size(cols, rows)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        stops = [host.subscribe(listener) for host in self.hosts.values()]

        def unsubscribe() -> None:
            for stop in stops:
                stop()

        return unsubscribe

    def on_agents(self, listener: Callable[[], None]) -> Callable[[], None]:
        stops = [host.on_agents(listener) for host in self.hosts.values()]

        def stop_all() -> None:
            for stop in stops:
                stop()

        return stop_all

    def snapshot(self, name: str) -> list[str]:
        return self.host_of(name).snapshot(name)

    def redetect(self, name: str) -> Detection:
        return self.host_of(name).redetect(name)

    def terminal(self, name: str) -> TerminalView:
        return self.host_of(name).terminal(name)

    def conversation(self, name: str) -> dict[str, Any] | None:
        return self.host_of(name).conversation(name)

    def conversation_since(self, name: str, since: int) -> dict[str, Any] | None:
        return conversation_since(self.host_of(name), name, since)

    def scrollback(self, name: str) -> TerminalView:
        return self.host_of(name).scrollback(name)

    def info(self, name: str) -> SessionInfo:
        return self.host_of(name).info(name)

    def sessions(self) -> list[SessionInfo]:
        return [info for host in self.hosts.values() for info in host.sessions()]

    def stop(self, name: str, timeout: float = 3.0) -> None:
        self.host_of(name).stop(name, timeout)

    def forget(self, name: str) -> None:
        self.host_of(name).forget(name)

    def close(self) -> None:
        for host in self.hosts.values():
            with contextlib.suppress(Exception):
                host.close()


class QueueSet:
    """The queues of several hosts as one QueueView."""

    def __init__(self, queues: Mapping[str, QueueView], where: Mapping[str, str]) -> None:
        """`queues`: by host name (LOCAL for this machine's); `where`: agent → host name (the
        same mapping as the HostSet's)."""
        self.queues = dict(queues)
        self.where = where
        self.clock: Callable[[], float] = time.monotonic
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._global: dict[tuple[str, int, int], int] = {}  # (host, epoch, entry id) → ours
        self._where: dict[int, tuple[str, int, int]] = {}
        self._changed: Listeners[[]] = Listeners("the hosts' approvals queues")
        self.history: deque[Decision] = self._merged_history()
        self._stops = [q.on_change(self._queue_changed) for q in self.queues.values()]

    @staticmethod
    def _epoch(queue: QueueView) -> int:
        return int(getattr(queue, "epoch", 0))

    def _ours(self, host: str, queue: QueueView, entry: Entry) -> Entry:
        key = (host, self._epoch(queue), entry.id)
        with self._lock:
            gid = self._global.get(key)
            if gid is None:
                gid = self._global[key] = next(self._ids)
                self._where[gid] = key
        return replace(entry, id=gid, host=host)

    def _queue_changed(self) -> None:
        self.history = self._merged_history()  # (a host's decisions change with its queue)
        self._changed()

    def _merged_history(self) -> deque[Decision]:
        merged = [replace(d, entry=replace(d.entry, host=host))
                  for host, q in self.queues.items() for d in q.history]
        merged.sort(key=lambda d: d.at)
        return deque(merged, maxlen=200)

    def pending(self) -> list[Entry]:
        entries = [self._ours(host, q, e) for host, q in self.queues.items()
                   for e in q.pending()]
        return sorted(entries, key=lambda e: (e.created, e.id))

    def entry_for(self, agent: str) -> Entry | None:
        return next((e for e in self.pending() if e.agent == agent), None)

    def _resolve(self, entry_id: int) -> tuple[QueueView, int]:
        key = self._where.get(entry_id)
        if key is None:
            raise StaleAnswer("that prompt is no longer waiting")
        host, epoch, theirs = key
        queue = self.queues[host]
        if self._epoch(queue) != epoch:  # that host's session host restarted meanwhile
            raise StaleAnswer(f"host {host}: its session host restarted; that prompt is gone")
        return queue, theirs

    def via_hook(self, entry_id: int) -> bool:
        with contextlib.suppress(StaleAnswer):
            queue, theirs = self._resolve(entry_id)
            return queue.via_hook(theirs)
        return False

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        return self._changed.add(listener)

    def typed(self, agent: str, data: bytes) -> None:
        self.queues[self.where.get(agent, LOCAL)].typed(agent, data)

    def answer(self, entry_id: int, decision: str, by: str = "key",
               origin: dict[str, str] | None = None) -> Decision:
        queue, theirs = self._resolve(entry_id)
        host = self._where[entry_id][0]
        record = queue.answer(theirs, decision, by, origin)
        return replace(record, entry=replace(record.entry, id=entry_id, host=host))

    def close(self) -> None:
        for stop in self._stops:
            stop()
        for queue in self.queues.values():
            with contextlib.suppress(Exception):
                queue.close()


def attach_hosts(ctx: RepoContext, fleet: Fleet, local: RemoteHost,
                 out: Callable[[str], None] = print) -> Deck:
    """A deck over this machine's session host and every host the fleet's agents run on, one
    ssh connection each; agents missing there are made first (`up --no-start` there, its
    progress shown through `out`). A host that cannot be reached fails the whole: why, in one
    line."""
    from agentdeck.core.agents import remote
    from agentdeck.core.deck import Deck
    from agentdeck.daemon.client import RemoteQueue
    from agentdeck.daemon.ssh_link import SshLink

    links: dict[str, SshLink] = {}
    try:
        for spec in remote.hosts_in_use(fleet):
            link = links[spec.name] = SshLink(fleet, spec, cache=ctx.state_dir / "hosts" /
                                              f"{spec.name}.json")
            try:
                link.connect()
            except OperationError as exc:
                if not link.connect_later():  # never reached: nothing of it to show
                    raise
                out(f"agentdeck: warning: {exc}; its agents show as disconnected until it "
                    "answers (the dashboard keeps trying)")
                continue
            made = {r.name for r in link.records}
            missing = [a.name for a in fleet.agents if a.host == spec.name and a.name not in made]
            if missing:
                out(f"{spec.name}: making {', '.join(missing)} there")
                result = remote.run(fleet, spec, ["up", "--no-start", *missing], capture=False)
                if result.returncode != 0:
                    out(f"agentdeck: warning: {remote.failure(spec, result)}")
                link.refresh_records()
    except BaseException:
        for link in links.values():
            link.close()
        local.close()
        raise
    where: dict[str, str] = {}

    def remote_records() -> list[AgentRecord]:
        records = [r for link in links.values() for r in link.records]
        # changed in place, never emptied on the way: it is read meanwhile (read again when a
        # host's agents change, on a thread of its own, while panes route through it)
        fresh = {r.name: r.host for r in records}
        for gone in [name for name in where if name not in fresh]:
            where.pop(gone, None)
        where.update(fresh)
        return records

    remote_records()
    hosts = HostSet({LOCAL: local, **links}, where)
    queue = QueueSet({LOCAL: RemoteQueue(local), **{n: link.queue for n, link in links.items()}},
                     where)
    deck = Deck.attach(ctx, fleet, hosts, queue)
    deck.remote_records = remote_records

    def refresh() -> None:
        for link in links.values():
            with contextlib.suppress(OperationError):
                link.refresh_records()

    deck.refresh_remote = refresh
    deck.reload()
    return deck
