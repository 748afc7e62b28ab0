"""`agentdeck daemon`: the session host as a background process, like tmux's server.

It owns every agent's PTY, screen, scrollback, prompt detection and the approvals queue (with
the hook socket), so agents go on — and go on being watched, queued and notified — when no
dashboard is open. Dashboards (and `agentdeck serve`) attach over a unix socket in the registry
folder (mode 0600, other users refused) through `RemoteHost`, which mirrors each screen: an
attaching client gets a replay of the screen and scrollback, then the live bytes in order.
Each agent's output is also kept on disk, bounded (`transcripts/<name>.log`, rotated), so
`agentdeck logs` can print it and a restarted daemon can show agents that died with it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agentdeck import __version__
from agentdeck.core import unixsock
from agentdeck.core.agents.acp.conversation import changes
from agentdeck.core.agents.roster import RosterKeeper, ready_records
from agentdeck.core.agents.sessions import AlreadyRunning, Event, LocalHost
from agentdeck.core.engine.checks import CommitChecks
from agentdeck.core.errors import AgentdeckError
from agentdeck.core.files import write_private
from agentdeck.core.fleet.registry import AgentRecord
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.fleet.spec import empty_fleet
from agentdeck.core.git.repo import RepoContext, open_repo
from agentdeck.core.hostlock import PID_FILE, daemon_socket, hold_daemon_lock
from agentdeck.core.oversight.approvals import ApprovalQueue, OperationError, StaleAnswer
from agentdeck.core.oversight.hook_channel import HookServer, socket_path
from agentdeck.core.oversight.ratelimit import Resumer
from agentdeck.core.screen.terminal.base import ERASE_SCROLLBACK
from agentdeck.core.screen.terminal.replay import replay
from agentdeck.daemon import frames, protocol
from agentdeck.daemon.budgets import FLEET, Budgets, labelled
from agentdeck.daemon.clients import Client
from agentdeck.daemon.connection import MISMATCH
from agentdeck.daemon.news import News
from agentdeck.daemon.pictures import picture_to_wire
from agentdeck.daemon.transcripts import Transcripts

TRANSCRIPTS = "transcripts"
DIED_NOTE = ("its session host stopped, and the agent with it; `agentdeck start {name}` "
             "starts it again")


class Mismatch(Exception):
    """A client of another protocol version said hello."""


Reply = tuple[Any, bytes]  # a request's result (JSON) and its payload (terminal bytes)
Handler = Callable[[Client, dict[str, Any], bytes], Reply]


class Daemon:
    def __init__(self, state_dir: Path, fleet_path: Path | None = None) -> None:
        self.state_dir = state_dir
        self.host = LocalHost()
        self.queue = ApprovalQueue(self.host, state_dir / "audit.jsonl")
        self.fleet_path = fleet_path
        self.news = News(state_dir, self.host, self.queue, self._broadcast)
        self.resumer: Resumer | None = None
        self.hooks: HookServer | None = None
        self._clients: list[Client] = []
        self._home: tuple[int, int] | None = None  # the agents' size: the largest dashboard's
        # held while the agents' size is chosen and applied, and while an agent is spawned at
        # it (not self._lock: a resize broadcasts, which takes that one)
        self._home_lock = threading.Lock()
        self._lock = threading.Lock()
        self.transcripts = Transcripts(state_dir / TRANSCRIPTS)
        self.budgets = Budgets(self.host, self.queue.hook_request,  # type: ignore[arg-type]
                               lambda name: self.queue.entry_for(name) is not None,
                               self._printed, self._usage_changed)
        self.budgets.on_turn = self.news.turn_steered
        self._stopped = threading.Event()
        self._states: dict[str, str] = {}  # each agent's last state (a turn ended: its usage)
        self._queue_seq = 0  # the queue's states, numbered as they were read (see below)
        self.path = daemon_socket(state_dir)
        self._socket_inode = -1  # the socket file this daemon made (it unlinks only that one)
        # each request a client can make, by its name ("op"): one method each
        self._handlers: dict[str, Handler] = {
            "hello": self._hello, "configure": self._configure, "records": self._records,
            "spawn": self._spawn, "write": self._write, "typed": self._typed,
            "home": self._home_size, "resize": self._resize, "attach": self._attach,
            "history": self._history, "screens": self._screens, "snapshot": self._snapshot,
            "redetect": self._redetect, "conversation": self._conversation,
            "stop": self._stop, "forget": self._forget, "answer": self._answer,
            "push": self._push, "shutdown": self._shutdown_soon,
        }
        self.host.subscribe(self._on_host_event)
        self.queue.on_change(self._on_queue_change)
        # the roster and the roles the rules use follow the registry, whoever changed it (the
        # CLI, a dashboard, a browser)
        self.roster = RosterKeeper(state_dir, empty_fleet(), self.host, self._registry_changed)
        self.checks = CommitChecks()  # new commits judged with no dashboard open
        if fleet_path is not None:
            self.configure(fleet_path)
        self._restore_dead_sessions()

    # -- configuration ------------------------------------------------------------------------
    def configure(self, fleet_path: Path) -> None:
        """Rules, roles, hooks and the notify command, from the fleet file and registry."""
        fleet = load_fleet(fleet_path)
        self.fleet_path = fleet_path
        self.queue.rules = tuple(fleet.rules)
        self.roster.fleet = fleet
        self.roster.registry_changed()  # the roles too
        self.budgets.fleet = fleet
        self.news.configure(fleet)
        if self.resumer is not None:
            self.resumer.close()
            self.resumer = None
        if fleet.rate_limit_resume:  # agents carry on after their limit even with no dashboard
            self.resumer = Resumer(self.host, fleet.rate_limit_message, fleet=fleet)
        with contextlib.suppress(AgentdeckError, OSError):
            self.checks.configure(self._repo(fleet_path), fleet,
                                  lambda: ready_records(self.state_dir))
        if fleet.hooks and self.hooks is None:
            with contextlib.suppress(OSError):
                self.hooks = HookServer(socket_path(self.state_dir), self.queue.hook_request,
                                        self.queue.hook_gone, self.news.hinted,
                                        state_dir=self.state_dir)

    def _repo(self, fleet_path: Path) -> RepoContext:
        """The repository (its fleet file's, else the one whose git folder holds the state)."""
        try:
            return open_repo(fleet_path.resolve().parent)
        except AgentdeckError:
            return open_repo(self.state_dir.parent.parent)  # (…/.git/agentdeck)

    def _registry_changed(self, records: list[AgentRecord]) -> None:
        self.queue.roles = {rec.name: rec.role for rec in records}
        # every attached dashboard (and through its ssh link every other machine's) shows an
        # agent made or removed by anyone at once: the one watch of the registry is this one
        self._broadcast({"push": "agents", "records": [asdict(r) for r in records]})

    def _restore_dead_sessions(self) -> None:
        """Agents whose process died with the previous daemon: exited, with their last
        screen from the transcript."""
        for wire, data in self.transcripts.saved():
            try:
                spec = protocol.spec_from_wire(wire)
            except (KeyError, TypeError):
                continue
            self.news.happenings.ending(spec.name)  # (news from the past: no notification now)
            self.host.restore(spec, data, DIED_NOTE.format(name=spec.name))

    # -- serving ------------------------------------------------------------------------------
    def serve(self) -> None:
        self._server = unixsock.listen(self.path)
        self._socket_inode = self.path.stat().st_ino
        write_private(self.state_dir / PID_FILE, str(os.getpid()))
        unixsock.serve(self._server, self._stopped, self._serve_client, "agentdeck-daemon",
                       own_namespace=True)
        self._stopped.wait()
        self._shutdown()

    def stop(self) -> None:
        self._stopped.set()

    def _serve_client(self, conn: socket.socket) -> None:
        client = Client(conn)
        with self._lock:
            self._clients.append(client)
        try:
            while not client.closed:
                header, payload = frames.recv(conn)
                self._handle(client, header, payload)
        except (frames.Closed, OSError, ValueError):
            pass
        finally:
            client.close()
            with self._lock, contextlib.suppress(ValueError):
                self._clients.remove(client)
            conn.close()
            if client.home is not None:
                self._apply_home()  # the largest dashboard left: the next largest one's size

    def _handle(self, client: Client, header: dict[str, Any], payload: bytes) -> None:
        op, rid = str(header.get("op")), header.get("id")
        reply: dict[str, Any] = {"re": rid, "ok": True}
        out = b""
        try:
            handler = self._handlers.get(op)
            if handler is None:
                raise ValueError(f"unknown request {op!r}")
            reply["result"], out = handler(client, header, payload)
        except StaleAnswer as exc:
            reply.update(ok=False, type="StaleAnswer", error=str(exc))
        except Mismatch as exc:
            reply.update(ok=False, type="DaemonMismatch", error=str(exc))
        except (OperationError, AgentdeckError) as exc:
            reply.update(ok=False, type="OperationError", error=str(exc))
        except KeyError as exc:
            reply.update(ok=False, type="KeyError", error=f"no session {exc}")
        except AlreadyRunning as exc:
            reply.update(ok=False, type="AlreadyRunning", error=str(exc))
        except (ValueError, TypeError, OSError) as exc:
            reply.update(ok=False, type="ValueError", error=str(exc))
        if rid:  # id 0: the client does not wait for a reply
            client.push(reply, out)

    # -- the requests (self._handlers): each takes (client, header, payload) ------------------
    def _hello(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        if h.get("protocol", frames.PROTOCOL) != frames.PROTOCOL:
            raise Mismatch(MISMATCH.format(theirs=__version__,
                                           ours=h.get("version", "another version")))
        with self.queue._lock:
            queue, seq = protocol.queue_to_wire(self.queue), self._queue_seq
        return {"pid": os.getpid(), "protocol": frames.PROTOCOL, "version": __version__,
                "sessions": [protocol.info_to_wire(i) for i in self.host.sessions()],
                "queue": queue, "queue_seq": seq}, b""

    def _configure(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        self.configure(Path(h["fleet"]))
        return None, b""

    def _records(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        """This host's agents, for a dashboard on another machine."""
        return [asdict(r) for r in ready_records(self.state_dir)], b""

    def _spawn(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        spec = protocol.spec_from_wire(h["spec"])
        with self._home_lock:
            if self._home is not None:  # a new agent starts at the agents' size
                spec = dataclasses.replace(spec, cols=self._home[0], rows=self._home[1])
            self.transcripts.start(spec.name, protocol.spec_to_wire(spec))
            self.budgets.started(spec)
            self.news.started(spec.name, spec.argv)
            return protocol.info_to_wire(self.host.spawn(spec)), b""

    def _write(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        self.news.gave_work(h["name"], payload)
        self.host.write(h["name"], payload)
        return None, b""

    def _typed(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        """Keys the user is typing into a pane (they may answer its prompt)."""
        self.queue.typed(h["name"], payload)
        return None, b""

    def _home_size(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        """A dashboard's home size; the agents take the largest one's."""
        client.home = (int(h["cols"]), int(h["rows"]))
        return {"home": self._apply_home()}, b""

    def _resize(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        self.host.resize(h["name"], int(h["cols"]), int(h["rows"]))
        self.transcripts.resized(h["name"], int(h["cols"]), int(h["rows"]))
        return None, b""

    def _attach(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        """The screen as it is now (with the last `history` lines of its scrollback: a mirror
        keeps only those) and every byte after it, in order: both under the lock the PTY
        reader holds while it feeds and forwards."""
        return self._screen(h["name"], h.get("history"), client)

    def _history(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        """The screen and all of its scrollback once, for a dashboard whose user scrolls
        back."""
        return self._screen(h["name"], None, None)

    def _screen(self, name: str, history: int | None, attaching: Client | None) -> Reply:
        with self.host.terminal(name) as emulator:
            dump = replay(emulator, history)
            size = [emulator.cols, emulator.rows, emulator.scrollback_limit]
            if attaching is not None:
                attaching.attached.add(name)
                # where the screen was taken, in the stream: a client already attached to this
                # session (attaching again: a restarted agent, a second replay) was sent output
                # before it, which the screen holds; only the output after this is new to it
                attaching.push({"push": "attached", "name": name})
        return {"size": size, "info": protocol.info_to_wire(self.host.info(name))}, dump

    def _screens(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        """A picture of every session's screen (daemon/pictures.py), in one reply: what a
        starting dashboard draws until its mirrors are in."""
        shots = {}
        for info in self.host.sessions():
            with contextlib.suppress(KeyError), self.host.terminal(info.name) as emulator:
                shots[info.name] = picture_to_wire(emulator)
        return shots, b""

    def _snapshot(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        return self.host.snapshot(h["name"]), b""

    def _redetect(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        return asdict(self.host.redetect(h["name"])), b""

    def _conversation(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        """An ACP agent's conversation as data (its pane lays it out): what changed since the
        version the pane holds (`since`; 0, or none: all of it)."""
        wire = self.host.conversation(h["name"])
        return (changes(wire, int(h.get("since") or 0)) if wire is not None else None), b""

    def _stop(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        self.news.happenings.ending(h["name"])
        self.host.stop(h["name"], float(h.get("timeout", 3.0)))
        return None, b""

    def _forget(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        """The agent is being removed: its session and transcript go."""
        self.news.happenings.ending(h["name"])
        self.host.forget(h["name"])
        self.transcripts.forget(h["name"])
        return None, b""

    def _answer(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        # a page of `agentdeck serve` says so, with its device (daemon/client.web_origin)
        given = h.get("origin") or {}
        origin = ({k: str(given[k]) for k in ("via", "device") if k in given}
                  if given.get("via") == "web" else {})
        record = self.queue.answer(int(h["entry"]), h["decision"], h.get("by", "key"), origin)
        return {"decision": record.decision, "via": record.via}, b""

    def _push(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        """A notification's action, brought by `agentdeck serve`."""
        return self.news.push(str(h["secret"]), bool(h.get("take"))), b""

    def _shutdown_soon(self, client: Client, h: dict[str, Any], payload: bytes) -> Reply:
        threading.Timer(0.05, self.stop).start()  # (after this reply has gone out)
        return None, b""

    def _apply_home(self) -> list[int] | None:
        """Size every running agent to the home size of the largest attached dashboard (by
        area): a second, smaller dashboard, or a browser viewer (which sets none), does not
        resize the agents; when the largest one leaves, the next largest one's size holds."""
        with self._home_lock:
            with self._lock:
                homes = [c.home for c in self._clients if c.home is not None and not c.closed]
            home = max(homes, key=lambda size: size[0] * size[1]) if homes else None
            if home is not None and home != self._home:
                self._home = home
                for info in self.host.sessions():
                    if info.process == "running":
                        self.host.resize(info.name, *home)
                        self.transcripts.resized(info.name, *home)
            return list(self._home) if self._home is not None else None

    # -- pushes -------------------------------------------------------------------------------
    def _broadcast(self, header: dict[str, Any], payload: bytes = b"",
                   only: Callable[[Client], bool] | None = None) -> None:
        with self._lock:
            clients = list(self._clients)
        for client in clients:
            if only is None or only(client):
                client.push(header, payload)

    def _on_host_event(self, event: Event) -> None:
        if event.kind == "output":
            self.transcripts.write(event.name, event.data)
            self._broadcast({"push": "output", "name": event.name}, event.data,
                            only=lambda c: event.name in c.attached)
        elif event.kind == "archived":  # (not the program's bytes: no transcript)
            self._broadcast({"push": "output", "name": event.name}, ERASE_SCROLLBACK,
                            only=lambda c: event.name in c.attached)
        elif event.kind == "redrawn":  # (the queue's concern: it lives here)
            return
        elif event.kind == "resize":
            cols, rows = event.data.decode().split("x")
            self._broadcast({"push": "resize", "name": event.name, "cols": int(cols),
                             "rows": int(rows)}, only=lambda c: event.name in c.attached)
        else:
            self._broadcast({"push": "state", "info": protocol.info_to_wire(event.info)})
            info = event.info
            old = self._states.get(info.name, "")
            self._states[info.name] = info.state
            self.news.state_changed(info)
            if old == "working" and info.state != "working":  # a turn ended: its usage now
                threading.Thread(target=self.budgets.check, args=(info.name,),
                                 daemon=True).start()

    def _on_queue_change(self) -> None:
        # the queue changes on several threads (a detector's, a PTY reader's, a client's, an
        # ACP agent's): its states are read and numbered under the lock it changes under, and
        # sent after: a client keeps the newest number it got, so none is left with an older
        # state. (Sent under the lock, each send let the other threads take the interpreter
        # while the next request's thread waited on the lock: twenty ACP agents asking at once
        # queued behind it — bench/acp_queue.py)
        with self.queue._lock:
            state = protocol.queue_to_wire(self.queue)
            self._queue_seq += 1
            header = {"push": "queue", "queue": state, "seq": self._queue_seq}
        self._broadcast(header)
        self.news.queue_changed(state)

    def _printed(self, name: str) -> str:
        """The end of what an agent printed (Aider's usage lines are read from it)."""
        path = self.transcripts.log_path(name)
        with contextlib.suppress(OSError), path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - (1 << 20)))
            return fh.read().decode("utf-8", "replace")
        return ""

    def _usage_changed(self, name: str) -> None:
        with contextlib.suppress(KeyError):
            info = self.host.info(name)
            usage = self.budgets.usage.get(name)
            if usage is not None:
                info.tokens_in, info.tokens_out, info.cost = (usage.tokens_in, usage.tokens_out,
                                                              usage.cost)
            info.usage = labelled(usage, self.budgets.over.get(name)
                                  or self.budgets.over.get(FLEET))
            self._broadcast({"push": "state", "info": protocol.info_to_wire(info)})

    def _shutdown(self) -> None:
        with contextlib.suppress(OSError):
            self._server.close()
        with contextlib.suppress(OSError):
            if self.path.stat().st_ino == self._socket_inode:  # never another one's socket
                self.path.unlink()
        with contextlib.suppress(OSError, ValueError):
            if int((self.state_dir / PID_FILE).read_text()) == os.getpid():
                (self.state_dir / PID_FILE).unlink()
        if self.hooks is not None:
            self.hooks.close()
        self.checks.close()
        for info in self.host.sessions():  # they end with the session host: no error
            self.news.happenings.ending(info.name)
        self.roster.close()
        self.queue.close()
        self.host.close()
        self.transcripts.close()
        with self._lock:
            for client in self._clients:
                client.close()


def run_daemon(state_dir: Path, fleet_path: Path | None) -> int:
    if hold_daemon_lock(state_dir) is None:
        # started at the same moment as another: that one serves; callers connect to it
        print("agentdeck: a session host already runs for this repository", file=sys.stderr)
        return 0
    daemon = Daemon(state_dir, fleet_path)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: daemon.stop())
    daemon.serve()
    return 0
