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
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agentdeck import __version__
from agentdeck.core import unixsock
from agentdeck.core.agents.roster import RosterKeeper, ready_records
from agentdeck.core.agents.sessions import Event, LocalHost
from agentdeck.core.errors import AgentdeckError
from agentdeck.core.files import write_private
from agentdeck.core.fleet.config import NotifySpec, empty_fleet, load_fleet
from agentdeck.core.fleet.registry import AgentRecord
from agentdeck.core.fleet.views import limit_text
from agentdeck.core.hostlock import PID_FILE, daemon_socket, hold_daemon_lock
from agentdeck.core.oversight import notify
from agentdeck.core.oversight.actions import Actions, Refused
from agentdeck.core.oversight.alerts import Alerts, Happenings, fleet_secrets
from agentdeck.core.oversight.approvals import ApprovalQueue, OperationError, StaleAnswer
from agentdeck.core.oversight.hook_channel import HookServer, socket_path
from agentdeck.core.oversight.ratelimit import Resumer
from agentdeck.core.screen.terminal.base import ERASE_SCROLLBACK
from agentdeck.core.screen.terminal.replay import replay
from agentdeck.daemon import frames, protocol
from agentdeck.daemon.budgets import FLEET, Budgets, labelled
from agentdeck.daemon.clients import Client
from agentdeck.daemon.connection import MISMATCH
from agentdeck.daemon.transcripts import Transcripts

log = logging.getLogger(__name__)

TRANSCRIPTS = "transcripts"
DIED_NOTE = ("its session host stopped, and the agent with it; `agentdeck start {name}` "
             "starts it again")


class Mismatch(Exception):
    """A client of another protocol version said hello."""


class Daemon:
    def __init__(self, state_dir: Path, fleet_path: Path | None = None) -> None:
        self.state_dir = state_dir
        self.host = LocalHost()
        self.queue = ApprovalQueue(self.host, state_dir / "audit.jsonl")
        self.fleet_path = fleet_path
        self.notify_command: str | None = None
        self.alerts = Alerts(NotifySpec())  # (configure sets the fleet's)
        # a waiting prompt's Allow / Deny from its notification, through `agentdeck serve`
        self.actions = Actions(NotifySpec().action_ttl)
        self.happenings = Happenings()  # which state changes are news (kept across configure)
        self.desktop = False
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
        self.budgets.on_turn = self._turn_steered
        self._stopped = threading.Event()
        self._states: dict[str, str] = {}  # each agent's last state (a turn ended: its usage)
        self._pending_before: set[int] = set()
        self.path = daemon_socket(state_dir)
        self._socket_inode = -1  # the socket file this daemon made (it unlinks only that one)
        self.host.subscribe(self._on_host_event)
        self.queue.on_change(self._on_queue_change)
        # the roster and the roles the rules use follow the registry, whoever changed it (the
        # CLI, a dashboard, a browser)
        self.roster = RosterKeeper(state_dir, empty_fleet(), self.host, self._registry_changed)
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
        self.notify_command = fleet.dashboard.notify_command
        self.desktop = fleet.dashboard.desktop
        self.budgets.fleet = fleet
        self.alerts.close()
        self.actions.ttl = fleet.notify.action_ttl
        self.alerts = Alerts(fleet.notify, fleet_secrets(fleet), self._still_pending,
                             self._served_url, actions=self._action_urls)
        if self.resumer is not None:
            self.resumer.close()
            self.resumer = None
        if fleet.rate_limit_resume:  # agents carry on after their limit even with no dashboard
            self.resumer = Resumer(self.host, fleet.rate_limit_message, fleet=fleet)
        if fleet.hooks and self.hooks is None:
            with contextlib.suppress(OSError):
                self.hooks = HookServer(socket_path(self.state_dir), self.queue.hook_request,
                                        self.queue.hook_gone, self._hinted,
                                        state_dir=self.state_dir)

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
            self.happenings.ending(spec.name)  # (news from the past: no notification now)
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
        op, rid = header.get("op"), header.get("id")
        reply: dict[str, Any] = {"re": rid, "ok": True}
        out = b""
        try:
            result, out = self._do(client, str(op), header, payload)
            reply["result"] = result
        except StaleAnswer as exc:
            reply.update(ok=False, type="StaleAnswer", error=str(exc))
        except Mismatch as exc:
            reply.update(ok=False, type="DaemonMismatch", error=str(exc))
        except (OperationError, AgentdeckError) as exc:
            reply.update(ok=False, type="OperationError", error=str(exc))
        except KeyError as exc:
            reply.update(ok=False, type="KeyError", error=f"no session {exc}")
        except (ValueError, TypeError, OSError) as exc:
            reply.update(ok=False, type="ValueError", error=str(exc))
        if rid:  # id 0: the client does not wait for a reply
            client.push(reply, out)

    def _do(self, client: Client, op: str, h: dict[str, Any],
            payload: bytes) -> tuple[Any, bytes]:
        host = self.host
        if op == "hello":
            if h.get("protocol", frames.PROTOCOL) != frames.PROTOCOL:
                raise Mismatch(MISMATCH.format(theirs=__version__,
                                               ours=h.get("version", "another version")))
            return {"pid": os.getpid(), "protocol": frames.PROTOCOL, "version": __version__,
                    "sessions": [protocol.info_to_wire(i)
                                                      for i in host.sessions()],
                    "queue": self._queue_state()}, b""
        if op == "configure":
            self.configure(Path(h["fleet"]))
            return None, b""
        if op == "records":  # this host's agents, for a dashboard on another machine
            return [asdict(r) for r in ready_records(self.state_dir)], b""
        if op == "spawn":
            spec = protocol.spec_from_wire(h["spec"])
            with self._home_lock:
                if self._home is not None:  # a new agent starts at the agents' size
                    spec = dataclasses.replace(spec, cols=self._home[0], rows=self._home[1])
                self.transcripts.start(spec.name, protocol.spec_to_wire(spec))
                self.budgets.started(spec)
                self.happenings.started(spec.name, self._carries_task(spec.name, spec.argv))
                return protocol.info_to_wire(host.spawn(spec)), b""
        if op == "write":
            self._gave_work(h["name"], payload)
            host.write(h["name"], payload)
            return None, b""
        if op == "typed":  # keys the user is typing into a pane (they may answer its prompt)
            self.queue.typed(h["name"], payload)
            return None, b""
        if op == "home":  # a dashboard's home size; the agents take the largest one's
            client.home = (int(h["cols"]), int(h["rows"]))
            return {"home": self._apply_home()}, b""
        if op == "resize":
            host.resize(h["name"], int(h["cols"]), int(h["rows"]))
            self.transcripts.resized(h["name"], int(h["cols"]), int(h["rows"]))
            return None, b""
        if op in ("attach", "history"):
            # attach: the screen as it is now (with the last `history` lines of its scrollback:
            # a mirror keeps only those) and every byte after it, in order: both under the lock
            # the PTY reader holds while it feeds and forwards. history: the screen and all of
            # its scrollback once, for a dashboard whose user scrolls back
            view = host.terminal(h["name"])
            with view as emulator:
                dump = replay(emulator, h.get("history") if op == "attach" else None)
                size = [emulator.cols, emulator.rows, emulator.scrollback_limit]
                if op == "attach":
                    client.attached.add(h["name"])
            return {"size": size, "info": protocol.info_to_wire(host.info(h["name"]))}, dump
        if op == "snapshot":
            return host.snapshot(h["name"]), b""
        if op == "redetect":
            return asdict(host.redetect(h["name"])), b""
        if op == "stop":
            self.happenings.ending(h["name"])
            host.stop(h["name"], float(h.get("timeout", 3.0)))
            return None, b""
        if op == "forget":  # the agent is being removed: its session and transcript go
            self.happenings.ending(h["name"])
            host.forget(h["name"])
            self.transcripts.forget(h["name"])
            return None, b""
        if op == "answer":
            # a page of `agentdeck serve` says so, with its device (daemon/client.web_origin)
            given = h.get("origin") or {}
            origin = ({k: str(given[k]) for k in ("via", "device") if k in given}
                      if given.get("via") == "web" else {})
            record = self.queue.answer(int(h["entry"]), h["decision"], h.get("by", "key"),
                                       origin)
            return {"decision": record.decision, "via": record.via}, b""
        if op == "push":  # a notification's action, brought by `agentdeck serve`
            return self._push(str(h["secret"]), bool(h.get("take"))), b""
        if op == "shutdown":
            threading.Timer(0.05, self.stop).start()
            return None, b""
        raise ValueError(f"unknown request {op!r}")

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
            detail = (str(info.exit_code) if info.exit_code is not None else info.error or ""
                      ) if info.state in ("exited", "failed") else limit_text(
                          info.detection.reset, info.detection.detail)
            alert = self.happenings.news(info.name, info.state, detail)
            if alert is not None:
                self.alerts.send(alert)
            if old == "working" and info.state != "working":  # a turn ended: its usage now
                threading.Thread(target=self.budgets.check, args=(info.name,),
                                 daemon=True).start()

    def _queue_state(self) -> dict[str, Any]:
        now = time.monotonic()
        pending = [{"id": e.id, "agent": e.agent, "prompt": asdict(e.prompt),
                    "age": now - e.created, "created_at": e.created_at,
                    "via_hook": self.queue.via_hook(e.id)} for e in self.queue.pending()]
        history = [{"entry": {"id": d.entry.id, "agent": d.entry.agent,
                              "prompt": asdict(d.entry.prompt),
                              "created_at": d.entry.created_at},
                    "decision": d.decision, "by": d.by, "at": d.at, "via": d.via,
                    "keys": d.keys, "why": d.why}
                   for d in list(self.queue.history)[-20:]]
        return {"pending": pending, "history": history}

    def _on_queue_change(self) -> None:
        # the queue changes on several threads (a detector's, a PTY reader's, a client's): its
        # states go out in the order they were read, under the lock it changes under (it calls
        # this under it at times), so no client is left with an older one
        with self.queue._lock:
            state = self._queue_state()
            self._broadcast({"push": "queue", "queue": state})
        ids = {e["id"] for e in state["pending"]}
        self.actions.forget(ids)  # (an entry gone: its notification's actions answer nothing)
        for entry in state["pending"]:
            if entry["id"] not in self._pending_before:
                self._broadcast({"push": "attention", "agent": entry["agent"],
                                 "summary": entry["prompt"]["summary"]})
                self._notify(entry["agent"], entry["prompt"]["summary"])
                self.alerts.prompt(entry["agent"], entry["id"], entry["prompt"]["kind"],
                                   entry["prompt"]["summary"])
        self._pending_before = ids

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

    # -- what agentdeck and the user did to agents (core/alerts.Happenings) ---------------
    def _gave_work(self, name: str, data: bytes) -> None:
        """Keys that submit something (a message, a task, a line typed in its pane) to an agent
        with no prompt up give it work; with one up they answer the prompt."""
        if b"\r" not in data and b"\n" not in data:
            return
        with contextlib.suppress(KeyError):
            if self.queue.entry_for(name) is None and self.host.info(name).detection.prompt \
                    is None:
                self.happenings.asked(name)

    def _hinted(self, name: str, event: dict[str, object]) -> None:
        """A state event from an agent's hooks; its CLI says a prompt was submitted: work."""
        if event.get("hook_event_name") == "UserPromptSubmit":
            self.happenings.asked(name)
        self.host.hint(name, event)

    def _turn_steered(self, name: str, goes_on: bool) -> None:
        """A budget interrupted `name` (its turn's end is no finish), or told it to go on."""
        if goes_on:
            self.happenings.asked(name)
        else:
            self.happenings.cut_short(name)

    def _carries_task(self, name: str, argv: Sequence[str]) -> bool:
        """Whether an agent starts with its task on its command line (it works at once)."""
        rec = next((r for r in ready_records(self.state_dir) if r.name == name), None)
        return bool(rec and rec.task and any(rec.task in arg for arg in argv))

    def _still_pending(self, entry_id: int) -> bool:
        return any(e.id == entry_id for e in self.queue.pending())

    def _action_urls(self, entry: int, channel: str) -> dict[str, str]:
        """A waiting prompt's Allow / Deny URLs for a notification `channel`: none unless
        `agentdeck serve` runs (it is where they answer)."""
        url = self._served_url()
        return self.actions.mint(entry, channel, url) if url else {}

    def _push(self, secret: str, take: bool) -> dict[str, Any]:
        """What a notification's action (`secret`) answers; with `take`, answer it — once,
        while its prompt waits (core/oversight/actions.py). Audited via push, with the
        channel."""
        try:
            cap = self.actions.take(secret, self._still_pending) if take else (
                self.actions.peek(secret))
            entry = next((e for e in self.queue.pending() if e.id == cap.entry), None)
            if entry is None:
                raise Refused("that prompt is no longer waiting: it was answered or withdrawn")
            said = {"agent": entry.agent, "kind": entry.kind, "summary": entry.summary,
                    "decision": cap.decision}
            if take:
                record = self.queue.answer(cap.entry, cap.decision, "user",
                                           {"via": "push", "channel": cap.channel})
                said["decision"] = record.decision
        except (Refused, OperationError) as exc:  # (a StaleAnswer is an OperationError)
            return {"ok": False, "why": str(exc)}
        return {"ok": True, **said}

    def _served_url(self) -> str:
        with contextlib.suppress(OSError):
            return (self.state_dir / "serve.url").read_text().strip()
        return ""

    def _notify(self, agent: str, summary: str) -> None:
        """The user's command (and a desktop notification, where the desktop has a notifier)
        for a new prompt fire here, dashboard open or not. Attached dashboards ring their
        terminal's bell and send their own terminal notification."""
        notify.prompt_waiting(agent, summary, self.notify_command, self.desktop)

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
        for info in self.host.sessions():  # they end with the session host: no error
            self.happenings.ending(info.name)
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
