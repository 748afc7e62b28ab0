"""Another host's session host, through one ssh connection: `ssh HOST agentdeck -C REPO daemon
attach --stdio` carries the same frames as the local daemon's socket (daemon/bridge.py), so a
`RemoteHost` talks to it unchanged over one end of a socket pair (the same Connection as a
local dashboard's: daemon/connection.py).

The link keeps itself up: when the connection drops, the host shows as disconnected (its agents
go on there), and it dials again with the connection's backoff (`redial`); the new connection
replays the screens and the pending prompts. An answer is sent once: never retried across a
reconnect (a request cut off fails, and the replayed queue says whether it was taken), and
only to the daemon that queued the prompt (its pid is part of every entry's identity: a
restarted daemon's entries are new).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from agentdeck.core.agents.remote import fleet_for, framed, ssh_argv
from agentdeck.core.agents.sessions import (
    RUNNING,
    Event,
    SessionHost,
    SessionInfo,
    SessionSpec,
    TerminalView,
)
from agentdeck.core.agents.sessions.host import Listener
from agentdeck.core.errors import OperationError
from agentdeck.core.files import private_dir, write_private
from agentdeck.core.fleet.options import HostSpec
from agentdeck.core.fleet.registry import AgentRecord
from agentdeck.core.fleet.spec import Fleet
from agentdeck.core.listeners import Listeners
from agentdeck.core.oversight.approvals import Decision, Entry, StaleAnswer
from agentdeck.core.screen.detect import Detection
from agentdeck.daemon.client import RemoteHost, RemoteQueue, records_of
from agentdeck.daemon.connection import DaemonGone, redial

DISCONNECTED = "disconnected"  # the state its agents show while the link is down


class SshLink(SessionHost):
    """A SessionHost for every agent of one remote host. `connect()` makes the first
    connection (raising why it cannot); afterwards the link reconnects by itself."""

    def __init__(self, fleet: Fleet, spec: HostSpec, timeout: float = 15.0,
                 cache: Path | None = None) -> None:
        """`cache`: where the host's agents, as it last listed them, are kept (so a dashboard
        opened while the host is unreachable still shows them, as disconnected)."""
        self.fleet, self.spec, self.timeout, self.cache = fleet, spec, timeout, cache
        self.name = spec.name
        self._inner: RemoteHost | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._listeners: Listeners[[Event]] = Listeners(f"host {spec.name}'s session events")
        self._closing = threading.Event()
        self._up = threading.Event()
        self._home: tuple[int, int] | None = None
        self.records: list[AgentRecord] = []
        self.error = ""  # why it is down (the last attempt's reason)
        self.queue = LinkQueue(self)
        self._on_link: Listeners[[bool]] = Listeners(f"host {spec.name}'s link")
        self._agents_changed: Listeners[[]] = Listeners(f"host {spec.name}'s agents")
        self._supervisor: threading.Thread | None = None

    # -- the connection -----------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._up.is_set()

    @property
    def daemon_pid(self) -> int:
        return self._inner.daemon_pid if self._inner is not None else 0

    def on_link(self, listener: Callable[[bool], None]) -> None:
        """`listener(connected)` after each drop and each reconnection."""
        self._on_link.add(listener)

    def connect(self) -> SshLink:
        self._attach()
        self._keep_up()
        return self

    def connect_later(self) -> list[AgentRecord]:
        """The host cannot be reached now: its agents as it last listed them (none if it
        never was), shown as disconnected while the link keeps trying."""
        self.records = _cached(self.cache, self.name)
        self._keep_up()
        return self.records

    def _keep_up(self) -> None:
        self._supervisor = threading.Thread(target=self._supervise, daemon=True,
                                            name=f"agentdeck-ssh-{self.name}")
        self._supervisor.start()

    def _attach(self) -> None:
        ours, theirs = socket.socketpair()
        try:
            proc = subprocess.Popen(
                ssh_argv(self.spec, ["daemon", "attach", "--stdio"]),
                stdin=theirs.fileno(), stdout=theirs.fileno(), stderr=subprocess.PIPE,
                start_new_session=True)
        except FileNotFoundError:
            ours.close()
            raise OperationError("ssh is not installed here (the OpenSSH client reaches other "
                                 "hosts)") from None
        finally:
            theirs.close()
        errors: deque[str] = deque(maxlen=5)
        threading.Thread(target=_drain, args=(proc, errors), daemon=True).start()
        try:
            ours.sendall(framed(fleet_for(self.fleet, self.name)))
            inner = RemoteHost(Path(f"{self.spec.ssh}:{self.spec.repo}"), self.timeout,
                               sock=ours)
            records = records_of(inner)
        except (OSError, OperationError) as exc:
            _end(proc)
            ours.close()
            reason = errors[-1] if errors else str(exc)
            raise DaemonGone(f"host {self.name}: {reason.removeprefix('agentdeck: error: ')}"
                             ) from None
        if self._closing.is_set():  # closed while this connection was being made
            inner.close()
            _end(proc)
            return
        old, old_proc = self._inner, self._proc
        # the screens panes showed, mirrored anew before this connection is the one used: a
        # pane shows the host's screen as it is now at once (mirrors are otherwise made when a
        # pane asks, and an idle pane asks only when output arrives — which a screen nobody
        # mirrors never sends)
        shown = old.mirrored() if old is not None else []
        for name in shown:
            with contextlib.suppress(OperationError, KeyError, ValueError):
                inner.attach(name)
        inner.on_agents(lambda: self._agents_pushed(inner))  # (heard once it is the one used)
        self._inner, self._proc = inner, proc
        if old_proc is not None:  # the dropped connection's ssh, ended and reaped
            _end(old_proc)
        # (its agents as pushed since they were asked for, if they changed meanwhile)
        self._set_records(list(inner.records) if inner.records is not None else records)
        inner.subscribe(self._listeners)
        self.queue.attach(inner)
        if self._home is not None:
            with contextlib.suppress(OperationError):
                inner.set_home_size(*self._home)
        self.error = ""
        self._up.set()
        if old is not None:
            old.close()
        for info in inner.sessions():  # (after a drop: every agent's state is news again)
            self._listeners(Event(info.name, "state", info))
            if info.name in shown:  # its pane draws the new mirror now
                self._listeners(Event(info.name, "output", info))
        self._on_link(True)
        self._agents_changed()  # (agents made or removed there while it was down)

    def on_agents(self, listener: Callable[[], None]) -> Callable[[], None]:
        return self._agents_changed.add(listener)

    def _agents_pushed(self, inner: RemoteHost) -> None:
        """The host's session host says its agents changed (made or removed there by anyone,
        or from here through ssh): its records, as pushed, are this link's."""
        if inner is self._inner and inner.records is not None:
            self._set_records(list(inner.records))
            self._agents_changed()

    def refresh_records(self) -> list[AgentRecord]:
        """Ask the host again which agents it has made (after `up` or `rm` there)."""
        self._set_records(records_of(self._live()))
        return self.records

    def _set_records(self, records: list[AgentRecord]) -> None:
        for rec in records:
            rec.host = self.name
        self.records = records
        if self.cache is not None:
            with contextlib.suppress(OSError):
                private_dir(self.cache.parent)
                write_private(self.cache, json.dumps([asdict(r) for r in records]))

    def _supervise(self) -> None:
        while not self._closing.is_set():
            inner = self._inner
            if inner is not None:
                inner.closed.wait()
            if self._closing.is_set():
                return
            self._up.clear()
            for info in self.sessions():  # shown as disconnected: they go on over there
                self._listeners(Event(info.name, "state", info))
            self._on_link(False)
            redial(self._attach, self._closing, self._failed)

    def _failed(self, why: Exception) -> None:
        self.error = str(why)

    def _live(self) -> RemoteHost:
        inner = self._inner
        if inner is None or not self.connected:
            raise OperationError(f"host {self.name} is disconnected"
                                 + (f" ({self.error})" if self.error else "")
                                 + "; its agents go on there, and the link reconnects by itself")
        return inner

    # -- SessionHost --------------------------------------------------------------------------
    def spawn(self, spec: SessionSpec) -> SessionInfo:
        return self._live().spawn(spec)

    def write(self, name: str, data: bytes) -> None:
        self._live().write(name, data)

    def resize(self, name: str, cols: int, rows: int) -> None:
        if self.connected and self._inner is not None:
            self._inner.resize(name, cols, rows)

    def set_home_size(self, cols: int, rows: int) -> None:
        self._home = (cols, rows)  # sent again after a reconnection
        if self.connected and self._inner is not None:
            with contextlib.suppress(OperationError):
                self._inner.set_home_size(cols, rows)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self._listeners.add(listener)

    def snapshot(self, name: str) -> list[str]:
        return self._live().snapshot(name)

    def redetect(self, name: str) -> Detection:
        return self._live().redetect(name)

    def conversation(self, name: str) -> dict[str, Any] | None:
        return self._live().conversation(name)

    def conversation_since(self, name: str, since: int) -> dict[str, Any] | None:
        return self._live().conversation_since(name, since)

    def terminal(self, name: str) -> TerminalView:
        # while disconnected: the last screen seen (the old connection's mirror stays still)
        if self._inner is None:
            raise KeyError(name)
        return self._inner.terminal(name)

    def scrollback(self, name: str) -> TerminalView:
        return self._live().scrollback(name)

    def info(self, name: str) -> SessionInfo:
        if self._inner is None:
            raise KeyError(name)
        info = self._inner.info(name)
        return info if self.connected else replace(info, state=DISCONNECTED)

    def sessions(self) -> list[SessionInfo]:
        if self._inner is None:  # never reached yet: its agents, as it last listed them
            return [SessionInfo(r.name, r.agent, RUNNING, state=DISCONNECTED)
                    for r in self.records]
        infos = self._inner.sessions()
        return infos if self.connected else [replace(i, state=DISCONNECTED) for i in infos]

    def stop(self, name: str, timeout: float = 3.0) -> None:
        self._live().stop(name, timeout)

    def forget(self, name: str) -> None:
        self._live().forget(name)

    def close(self) -> None:
        """Detach (the agents go on over there) and end the ssh connection."""
        self._closing.set()
        if self._inner is not None:
            self._inner.close()
        if self._proc is not None:
            _end(self._proc)


class LinkQueue:
    """One host's approvals queue, across reconnections: entries stay listed while the link is
    down (the prompts still wait there), and cannot be answered until it is up again."""

    def __init__(self, link: SshLink) -> None:
        self.link = link
        self._queue: RemoteQueue | None = None
        self._changed: Listeners[[]] = Listeners(f"host {link.name}'s approvals queue")
        self.clock: Callable[[], float] = time.monotonic
        # the current connection's queue's (one deque it refills in place): the last decisions
        # stay listed while the link is down
        self.history: deque[Decision] = deque()

    def attach(self, host: RemoteHost) -> None:
        old, self._queue = self._queue, RemoteQueue(host)
        self.history = self._queue.history
        self._queue.on_change(self._changed)
        if old is not None:
            old.close()
        self._changed()

    @property
    def epoch(self) -> int:
        """Which daemon the entries belong to (a restarted one numbers them anew)."""
        return self.link.daemon_pid

    def pending(self) -> list[Entry]:
        return self._queue.pending() if self._queue is not None else []

    def entry_for(self, agent: str) -> Entry | None:
        return self._queue.entry_for(agent) if self._queue is not None else None

    def via_hook(self, entry_id: int) -> bool:
        return self._queue.via_hook(entry_id) if self._queue is not None else False

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        return self._changed.add(listener)

    def typed(self, agent: str, data: bytes) -> None:
        self.link._live()
        if self._queue is not None:
            self._queue.typed(agent, data)

    def answer(self, entry_id: int, decision: str, by: str = "key",
               origin: dict[str, str] | None = None) -> Decision:
        self.link._live()  # disconnected: refused here, nothing sent
        if self._queue is None:
            raise StaleAnswer(f"host {self.link.name}: that prompt is gone")
        return self._queue.answer(entry_id, decision, by, origin)

    def close(self) -> None:
        if self._queue is not None:
            self._queue.close()


def _cached(path: Path | None, host: str) -> list[AgentRecord]:
    try:
        data = json.loads(path.read_text()) if path is not None else []
    except (OSError, ValueError):
        return []
    records = [AgentRecord.from_json(item) for item in data if isinstance(item, dict)]
    for rec in records:
        rec.host = host
    return records


def _drain(proc: subprocess.Popen[bytes], lines: deque[str]) -> None:
    """ssh's stderr (and the remote agentdeck's): the last lines say why a connection ended."""
    assert proc.stderr is not None
    for raw in proc.stderr:
        text = raw.decode("utf-8", "replace").strip()
        if text:
            lines.append(text)


def _end(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):
        proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
