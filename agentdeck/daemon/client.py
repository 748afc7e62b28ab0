"""The dashboard's side of the daemon: `RemoteHost` (a SessionHost) and `RemoteQueue` (the
approvals queue), so the UI runs the same whether the host is in-process or a daemon.

Each attached session gets a mirror: a local emulator fed first with the daemon's replay of the
screen and the last lines of its scrollback, then with every byte the agent prints, in the
daemon's order (resizes included), so the pane draws locally. The scrollback itself stays in the
daemon — one copy of it — and comes over when the user scrolls back (`scrollback`). Detection
and the queue stay in the daemon; their changes arrive as pushes. Closing a RemoteHost detaches:
the agents go on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentdeck.core.agents.sessions import (
    Event,
    SessionHost,
    SessionInfo,
    SessionSpec,
    TerminalView,
)
from agentdeck.core.agents.sessions.host import Listener, still_copy
from agentdeck.core.errors import OperationError
from agentdeck.core.fleet.registry import AgentRecord
from agentdeck.core.listeners import Listeners
from agentdeck.core.oversight.approvals import Decision, Entry
from agentdeck.core.screen.detect import Detection, Prompt
from agentdeck.core.screen.terminal import make_emulator
from agentdeck.daemon import protocol
from agentdeck.daemon.connection import Connection, unix_socket
from agentdeck.daemon.pictures import Picture

log = logging.getLogger(__name__)

WEB_DEVICE = "AGENTDECK_WEB_DEVICE"  # set by `agentdeck serve` for its pages' dashboards


# The scrollback lines a mirror keeps: enough for any resize to reflow them exactly as the
# daemon's screen reflows (a taller screen pulls its last lines back), a small share of the
# 10,000 the daemon keeps.
MIRROR_HISTORY = 256


class RemoteHost(SessionHost):
    def __init__(self, path: Path, timeout: float = 10.0,
                 sock: socket.socket | None = None) -> None:
        """The daemon listening at `path`; or, given `sock`, the one at the other end of that
        connected stream (another host's daemon through ssh: daemon/ssh_link.py)."""
        sock = sock if sock is not None else unix_socket(path)  # (DaemonGone: none there)
        self.path = path
        self.timeout = timeout
        self._infos: dict[str, SessionInfo] = {}
        self._mirrors: dict[str, TerminalView] = {}
        # pictures of the screens (daemon/pictures.py), drawn until each mirror is in
        self._pictures: dict[str, TerminalView] = {}
        self._held = False  # mirrors wait for mirror_screens (pictures are drawn first)
        self._fetching = False  # the pictures are on their way
        self._attach_lock = threading.Lock()
        self._buf_lock = threading.Lock()
        self._buffers: dict[str, list[tuple[dict[str, Any], bytes]]] = {}
        self._attaching: set[str] = set()
        self._listeners: Listeners[[Event]] = Listeners("a daemon's session events")
        self._queue_listeners: Listeners[[dict[str, Any]]] = Listeners("a daemon's queue")
        # a new listener's first look at the queue and the pushes after it come in order: the
        # state it starts from cannot land after (and undo) a newer one pushed meanwhile
        self._queue_lock = threading.Lock()
        self._agents_listeners: Listeners[[]] = Listeners("a daemon's agents")
        self.records: list[AgentRecord] | None = None  # the agents, as the daemon last pushed
        self.queue_state: dict[str, Any] = {"pending": [], "history": []}
        self._queue_seq = -1  # the number of the queue state applied (the daemon's)
        # listeners run on their own thread, in order: the reader only moves bytes, so a
        # listener that waits (for a lock held by a thread that waits for a reply) cannot
        # stop the replies it waits for from being read
        self._dispatch: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        # agents whose "output" event waits in the dispatch queue: a flood of output queues one
        # event per agent (it says "output arrived"; its bytes are the latest chunk only)
        self._output_pending: set[str] = set()
        self._output_lock = threading.Lock()
        threading.Thread(target=self._dispatcher, name="agentdeck-daemon-events",
                         daemon=True).start()
        self._conn = Connection(sock, timeout,
                                self._on_push, lambda: self._dispatch.put(None))
        self.closed = self._conn.closed
        hello = self._conn.hello()
        self.daemon_pid = int(hello["pid"])
        for data in hello["sessions"]:
            info = protocol.info_from_wire(data)
            self._infos[info.name] = info
        with self._queue_lock:  # (unless a newer state was pushed before the reply came)
            if int(hello.get("queue_seq", 0)) >= self._queue_seq:
                self.queue_state, self._queue_seq = hello["queue"], int(hello.get("queue_seq", 0))

    # -- transport: daemon/connection.py; pushes, in the order they arrived -------------------
    def _call(self, op: str, payload: bytes = b"", **fields: Any) -> Any:
        return self._conn.call(op, payload, **fields)

    def _on_push(self, header: dict[str, Any], payload: bytes) -> None:
        kind = header["push"]
        if kind in ("output", "resize"):
            name = header["name"]
            with self._buf_lock:
                if name in self._buffers:  # its replay is being built: keep the order
                    self._buffers[name].append((header, payload))
                else:
                    self._apply(header, payload)
            info = self._infos.get(name)
            if kind == "output" and info is not None:
                info.last_output = time.monotonic()
                with self._output_lock:
                    if name in self._output_pending:
                        return
                    self._output_pending.add(name)
                self._emit(Event(name, "output", info, payload))
            elif kind == "resize" and info is not None:  # (its pane's size label, its rows:
                # a resized agent may print nothing)
                size = f"{header['cols']}x{header['rows']}".encode()
                self._emit(Event(name, "resize", info, size))
        elif kind == "attached":  # (before the attach's reply: the daemon took its screen)
            with self._buf_lock:
                if header["name"] in self._buffers:
                    # this connection was sent the session's output already (a restart, a
                    # replay made while its agent started): what came before this point is in
                    # the replay's screen, and fed again would print it twice
                    self._buffers[header["name"]].clear()
        elif kind == "state":
            info = protocol.info_from_wire(header["info"])
            self._infos[info.name] = info
            self._emit(Event(info.name, "state", info))
        elif kind == "queue":
            # applied here, in order with the session states (a listener sees both as new);
            # what the queue's own listeners do goes through dispatch()
            with self._queue_lock:
                seq = int(header.get("seq", self._queue_seq + 1))
                if seq <= self._queue_seq:
                    return  # (sent after a newer one: the daemon numbers them as read)
                self.queue_state, self._queue_seq = header["queue"], seq
                self._queue_listeners(self.queue_state)
        elif kind == "agents":  # its registry changed: an agent made or removed by anyone
            self.records = [AgentRecord.from_json(data) for data in header["records"]]
            self._dispatch.put(self._agents_listeners)

    def _apply(self, header: dict[str, Any], payload: bytes) -> None:
        mirror = self._mirrors.get(header["name"])
        if mirror is None:
            return
        with mirror.lock:
            if header["push"] == "output":
                mirror.emulator.feed(payload)
                mirror.fed(payload)  # no half frame of a synchronized update is drawn
            else:
                mirror.emulator.resize(int(header["cols"]), int(header["rows"]))
                mirror.bump()

    def _emit(self, event: Event) -> None:
        def deliver() -> None:
            if event.kind == "output":
                with self._output_lock:
                    self._output_pending.discard(event.name)
            self._listeners(event)

        self._dispatch.put(deliver)

    def dispatch(self, call: Callable[[], None]) -> None:
        """Run `call` on the listeners' thread, after the events already received."""
        self._dispatch.put(call)

    def _dispatcher(self) -> None:
        while (call := self._dispatch.get()) is not None:
            try:
                call()
            except Exception:  # (one failing call must not stop the events after it)
                log.exception("a call dispatched by the daemon's client failed")

    # -- SessionHost --------------------------------------------------------------------------
    def configure(self, fleet_path: Path) -> None:
        self._call("configure", fleet=str(fleet_path))

    def spawn(self, spec: SessionSpec) -> SessionInfo:
        info = protocol.info_from_wire(self._call("spawn", spec=protocol.spec_to_wire(spec)))
        pushed = self._infos.get(info.name)
        # the same process's state, pushed while the reply was on its way, is newer (a program
        # that ended at once: its "exited" came first, and the reply's "running" stayed for
        # good). (A state event for this process is applied by the reader before the reply.)
        if pushed is None or pushed.pid != info.pid:
            self._infos[info.name] = info
        with self._attach_lock:
            self._mirrors.pop(info.name, None)  # a new process: a new screen
            self._pictures.pop(info.name, None)
        self._attach(info.name)
        return self._infos[info.name]

    def write(self, name: str, data: bytes) -> None:
        self._call("write", data, name=name)

    def resize(self, name: str, cols: int, rows: int) -> None:
        # sent without waiting for the reply: a pane resizes on the UI's event loop, and the
        # mirror follows when the daemon's resize comes back in the output's order
        self._conn.post("resize", name=name, cols=cols, rows=rows)

    def set_home_size(self, cols: int, rows: int) -> None:
        # this dashboard's proposal: the daemon sizes the agents to the largest attached
        # dashboard's, so a smaller second one never shrinks them
        self._call("home", cols=cols, rows=rows)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self._listeners.add(listener)

    def on_agents(self, listener: Callable[[], None]) -> Callable[[], None]:
        return self._agents_listeners.add(listener)

    def on_queue(self, listener: Callable[[dict[str, Any]], None],
                 now: bool = False) -> Callable[[], None]:
        """`listener(state)` for each queue state the daemon pushes, on the reader's thread, in
        order with the session states (it must not wait: RemoteQueue hands its own listeners
        to `dispatch`); with `now`, first with the state as it is."""
        with self._queue_lock:
            remove = self._queue_listeners.add(listener)
            if now:
                listener(self.queue_state)
        return remove

    def snapshot(self, name: str) -> list[str]:
        return list(self._call("snapshot", name=name))

    def redetect(self, name: str) -> Detection:
        return protocol.detection_from_wire(self._call("redetect", name=name))

    def conversation(self, name: str) -> dict[str, Any] | None:
        """An ACP agent's conversation, from the session host (blocking)."""
        return self.conversation_since(name, 0)

    def conversation_since(self, name: str, since: int) -> dict[str, Any] | None:
        """What changed in it after version `since` (acp.conversation.changes; blocking)."""
        found = self._call("conversation", name=name, since=since)
        return dict(found) if found is not None else None

    def fetch_pictures(self) -> None:
        """A picture of every session's screen, in one round trip (blocking): what `terminal`
        gives until a session's mirror is in. A pane that asked before they came draws
        now."""
        try:
            shots = self._call("screens")
        except (OperationError, ValueError):  # (a daemon that does not know the request)
            shots = {}
            self._held = False  # the mirrors, then, at once
        with self._buf_lock:  # (a mirror made meanwhile is newer)
            for name, data in shots.items():
                if name not in self._mirrors:
                    self._pictures[name] = TerminalView(Picture(data))
            self._fetching = False
        for info in list(self._infos.values()):
            self._emit(Event(info.name, "output", info))

    def prefetch_screens(self) -> None:
        self._held = self._fetching = True
        threading.Thread(target=self.fetch_pictures, name="agentdeck-pictures",
                         daemon=True).start()

    def mirror_screens(self) -> None:
        self._held = False
        for name in list(self._pictures):
            with contextlib.suppress(KeyError):
                self.terminal(name)  # (starts attaching it)

    def terminal(self, name: str) -> TerminalView:
        """The mirror of a session's screen. Never blocks (panes ask from the UI's event
        loop): the first call starts attaching in the background and gives the picture of
        the screen fetched meanwhile (`prefetch_screens`), or raises KeyError, as for a
        session not started yet; the pane draws once the replay is in."""
        mirror = self._mirrors.get(name)
        if mirror is not None:
            return mirror
        picture = self._pictures.get(name)
        if self._held and picture is not None:
            return picture
        if self._held and self._fetching:  # its picture is on its way (then its pane draws)
            raise KeyError(name)
        if name in self._infos and name not in self._attaching:
            self._attaching.add(name)

            def attach() -> None:
                try:
                    self.attach(name)
                except (OperationError, KeyError, ValueError):
                    pass
                finally:
                    self._attaching.discard(name)

            threading.Thread(target=attach, daemon=True).start()
        if picture is not None:
            return picture
        raise KeyError(name)

    def attach(self, name: str) -> TerminalView:
        """Mirror a session now (blocking): the daemon's replay, then its live bytes."""
        return self._attach(name)

    def _attach(self, name: str) -> TerminalView:
        with self._attach_lock:
            mirror = self._mirrors.get(name)
            if mirror is not None:
                return mirror
            with self._buf_lock:
                self._buffers[name] = []
            try:
                result, dump = self._conn.request("attach", name=name, history=MIRROR_HISTORY)
            except Exception:
                with self._buf_lock:
                    self._buffers.pop(name, None)
                raise
            cols, rows, _ = result["size"]
            mirror = TerminalView(make_emulator(cols, rows, MIRROR_HISTORY))
            mirror.emulator.feed(dump)
            with self._buf_lock:
                self._mirrors[name] = mirror
                for header, payload in self._buffers.pop(name):
                    self._apply(header, payload)  # what came after the replay's screen
                self._pictures.pop(name, None)
            mirror.bump()
            info = self._infos.get(name)
            if info is not None:  # its pane draws now, not at its next slow tick
                self._emit(Event(name, "output", info))
            return mirror

    def mirrored(self) -> list[str]:
        """The sessions whose screen this client mirrors (a reconnection mirrors them again)."""
        return list(self._mirrors)

    def scrollback(self, name: str) -> TerminalView:
        """The session's screen and its whole scrollback as they are now, fetched from the
        daemon (blocking): a copy that stays still while the user scrolls through it."""
        result, dump = self._conn.request("history", name=name)
        cols, rows, scrollback = result["size"]
        return still_copy(cols, rows, scrollback, dump)

    def info(self, name: str) -> SessionInfo:
        return self._infos[name]

    def sessions(self) -> list[SessionInfo]:
        return list(self._infos.values())

    def stop(self, name: str, timeout: float = 3.0) -> None:
        self._call("stop", name=name, timeout=timeout)

    def forget(self, name: str) -> None:
        self._call("forget", name=name)
        self._infos.pop(name, None)
        self._mirrors.pop(name, None)
        self._pictures.pop(name, None)

    def answer(self, entry_id: int, decision: str, by: str,
               origin: dict[str, str] | None = None) -> dict[str, Any]:
        """Answer a queued prompt. `origin`, for the audit log: where the user sits (this
        dashboard's web_origin() unless given; the daemon keeps only a web page's)."""
        return dict(self._call("answer", entry=entry_id, decision=decision, by=by,
                               origin=web_origin() if origin is None else origin))

    def push(self, secret: str, take: bool) -> dict[str, Any]:
        """A notification's action: what it answers; with `take`, answer it (once)."""
        return dict(self._call("push", secret=secret, take=take))

    def shutdown_daemon(self) -> None:
        self._call("shutdown")

    def close(self) -> None:
        """Detach. The daemon and its agents go on."""
        self._conn.close()


class RemoteQueue:
    """The daemon's approvals queue as the dashboard reads and answers it."""

    def __init__(self, host: RemoteHost) -> None:
        self.host = host
        self._changed: Listeners[[]] = Listeners("the daemon's approvals queue")
        self._entries: dict[int, Entry] = {}
        self._hooked: set[int] = set()
        self.history: deque[Decision] = deque(maxlen=200)
        self.clock: Callable[[], float] = time.monotonic
        self._stop = host.on_queue(self._update, now=True)

    def _update(self, state: dict[str, Any]) -> None:
        now = self.clock()
        entries = {}
        for e in state["pending"]:
            old = self._entries.get(e["id"])
            created = old.created if old else now - float(e["age"])
            entries[e["id"]] = Entry(e["id"], e["agent"], protocol.prompt_from_wire(e["prompt"]),
                                     created, e["created_at"])
        self._entries = entries
        self._hooked = {e["id"] for e in state["pending"] if e["via_hook"]}
        self.history.clear()
        for d in state["history"]:
            record = d["entry"]
            entry = Entry(record["id"], record["agent"], protocol.prompt_from_wire(
                record["prompt"]), 0.0, record["created_at"])
            self.history.append(Decision(entry, d["decision"], d["by"], d["at"], d["via"],
                                         d.get("keys", ""), d.get("why", "")))
        self.host.dispatch(self._changed)

    def pending(self) -> list[Entry]:
        return sorted(self._entries.values(), key=lambda e: (e.created, e.id))

    def entry_for(self, agent: str) -> Entry | None:
        return next((e for e in self._entries.values() if e.agent == agent), None)

    def via_hook(self, entry_id: int) -> bool:
        return entry_id in self._hooked

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        return self._changed.add(listener)

    def typed(self, agent: str, data: bytes) -> None:
        self.host._call("typed", data, name=agent)

    def answer(self, entry_id: int, decision: str, by: str = "key",
               origin: dict[str, str] | None = None) -> Decision:
        entry = self._entries.get(entry_id) or Entry(entry_id, "", Prompt("other", "", "", ""),
                                                     0.0, "")
        result = self.host.answer(entry_id, decision, by, origin)
        return Decision(entry, result["decision"], by, "", result["via"])

    def close(self) -> None:
        self._stop()


def web_origin() -> dict[str, str]:
    """Where this dashboard's user sits, for the audit log: a page of `agentdeck serve` (which
    runs each page's dashboard with its device's name in AGENTDECK_WEB_DEVICE), else nothing
    (a terminal)."""
    device = os.environ.get(WEB_DEVICE)
    if device is None:
        return {}
    return {"via": "web", "device": device} if device else {"via": "web"}


def records_of(host: RemoteHost) -> list[AgentRecord]:
    """The agents the daemon's repository has made (another host's, for this dashboard)."""
    return [AgentRecord.from_json(data) for data in host._call("records")]
