"""The in-process SessionHost: a PTY per agent (pexpect, `pty_session.LocalSession`), a reader
thread per PTY, and one watcher thread that runs the detectors (`watcher.Watcher`).

Reads never touch the UI's event loop: each reader thread blocks in `select` on its PTY, feeds
everything available to the emulator in one go (so a flood of small writes costs one emulator
call per read, not one per write), and bumps a version number the panes poll at ~30 Hz. The
watcher re-detects only the screens that changed (watcher.py says when).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pexpect

from agentdeck.core.agents.programs import find_program, missing
from agentdeck.core.agents.refs import RefBroker, RefShadow
from agentdeck.core.agents.sessions.activity import QUESTION_TAIL, count_redraw, reads_like_question
from agentdeck.core.agents.sessions.host import (
    EXITED,
    FAILED,
    RUNNING,
    STARTING,
    STOPPED,
    SYNC_TIMEOUT,
    AlreadyRunning,
    Event,
    Listener,
    SessionHost,
    SessionInfo,
    SessionSpec,
    TerminalView,
)
from agentdeck.core.agents.sessions.pty_session import LocalSession, alive, pump, slice_end
from agentdeck.core.agents.sessions.watcher import Watcher, read_screen
from agentdeck.core.listeners import Listeners
from agentdeck.core.proctree import MARKER, end_tree
from agentdeck.core.screen.detect import IDLE, WAITING, WORKING, Detection
from agentdeck.core.screen.terminal import Emulator, make_emulator
from agentdeck.core.screen.terminal.replies import feed_answering

if TYPE_CHECKING:
    from agentdeck.core.agents.acp.permission import Router

class LocalHost(SessionHost):
    def __init__(self, detect_interval: float = 0.015, backend: str | None = None,
                 sync_timeout: float = SYNC_TIMEOUT) -> None:
        self._sync_timeout = sync_timeout
        self._sessions: dict[str, LocalSession] = {}
        # (a broken listener is logged: it must never stop the PTY reader that emits)
        self._emit: Listeners[[Event]] = Listeners("the sessions' events")
        self._lock = threading.Lock()
        self._backend = backend
        self._watcher = Watcher(self._sessions, self._emit, detect_interval)
        self._brokers: dict[str, RefBroker] = {}  # common dir → its sandboxed agents' refs
        self._router: Router | None = None  # where ACP agents' permission requests go

    def _refs(self, common_dir: str) -> RefBroker:
        with self._lock:
            if common_dir not in self._brokers:
                self._brokers[common_dir] = RefBroker(Path(common_dir))
            return self._brokers[common_dir]

    # -- lifecycle ----------------------------------------------------------------------------
    def _claim(self, session: LocalSession) -> None:
        """`session` takes its name, unless a session of that name is running or starting:
        checked and taken at once, so two starts of one agent that cross (a dashboard's and
        the CLI's) never run two processes under one name — the one no longer in the table
        would go on printing into every mirror of that name."""
        name = session.spec.name
        with self._lock:
            old = self._sessions.get(name)
            if old is not None and old.info.process in (STARTING, RUNNING):
                raise AlreadyRunning(f"session {name} is already running")
            self._sessions[name] = session

    def route_permissions(self, router: Router) -> None:
        self._router = router

    def spawn(self, spec: SessionSpec) -> SessionInfo:
        emulator = make_emulator(spec.cols, spec.rows, spec.scrollback, self._backend)
        if spec.channel == "acp" and not spec.error:
            return self._spawn_acp(spec, emulator)
        session = LocalSession(spec, emulator)  # (its process: STARTING, until it runs)
        session.sync_timeout = self._sync_timeout
        self._claim(session)
        if spec.error:
            self._fail(session, spec.error)
            return session.info
        program = spec.argv[0] if spec.argv else ""
        # (a relative command, `./ask.sh`, is the worktree's)
        found = find_program(program, spec.cwd, spec.env.get("PATH"))
        if not found:
            self._fail(session, missing(program, spec.cwd, spec.agent))
            return session.info
        session.marker = uuid.uuid4().hex  # what stop() looks for in lost processes
        if spec.shadow:  # a sandboxed agent's refs: its branch carried out while it runs
            self._refs(spec.shadow["common_dir"]).add(RefShadow(
                spec.shadow["name"], spec.shadow["branch"], Path(spec.shadow["common_dir"]),
                Path(spec.shadow["root"])))
        try:
            child = pexpect.spawn(found, list(spec.argv[1:]), cwd=spec.cwd,
                                  env={**spec.env, MARKER: session.marker},
                                  dimensions=(spec.rows, spec.cols), echo=True,
                                  encoding=None, use_poll=True)
        except (OSError, pexpect.ExceptionPexpect) as exc:
            self._fail(session, f"{program}: cannot start ({exc})")
            return session.info
        # pexpect sleeps this long in close() "to let the OS catch up": the reader waits for
        # the process to end itself, so that is 0.1 s of nothing at every exit
        child.delayafterclose = 0.0
        child.ptyproc.delayafterclose = 0.0  # type: ignore[attr-defined]  # (not in the stubs)
        session.child = child
        session.info.pid = child.pid
        session.info.process = RUNNING
        session.info.state = WORKING
        session.info.last_output = time.monotonic()
        session.reader = threading.Thread(target=self._read, args=(session,),
                                          name=f"agentdeck-pty-{spec.name}", daemon=True)
        session.reader.start()
        self._emit(Event(spec.name, "state", session.info))
        self._watcher.wake()  # a working session: the watcher looks again while it works
        return session.info

    def _spawn_acp(self, spec: SessionSpec, emulator: Emulator) -> SessionInfo:
        """An ACP agent (core/agents/acp): the protocol over its stdio, its conversation's log
        in its screen."""
        from agentdeck.core.agents.acp import sdk_missing
        from agentdeck.core.agents.acp.session import AcpSession

        session = AcpSession(spec, emulator, self._take, self._acp_changed, self._router)
        self._claim(session)
        found = find_program(spec.argv[0] if spec.argv else "", spec.cwd, spec.env.get("PATH"))
        why = sdk_missing() or (None if found else missing(
            spec.argv[0] if spec.argv else "", spec.cwd, spec.agent))
        if why:
            self._fail(session, why)
            return session.info
        if spec.shadow:
            self._refs(spec.shadow["common_dir"]).add(RefShadow(
                spec.shadow["name"], spec.shadow["branch"], Path(spec.shadow["common_dir"]),
                Path(spec.shadow["root"])))
        session.start()
        self._emit(Event(spec.name, "state", session.info))
        return session.info

    def _acp_changed(self, session: LocalSession) -> None:
        self._emit(Event(session.spec.name, "state", session.info))

    def conversation(self, name: str) -> dict[str, Any] | None:
        session = self._sessions[name]
        conv = getattr(session, "conversation", None)
        return conv.to_wire() if conv is not None else None

    def restore(self, spec: SessionSpec, output: bytes, note: str) -> SessionInfo:
        """A session whose process is gone (its host died), shown as it last looked: its
        transcript replayed into a screen, exited, with `note` saying what to do."""
        session = LocalSession(spec, make_emulator(spec.cols, spec.rows, spec.scrollback,
                                               self._backend))
        with session.lock:
            # fed as a live session is, a slice at a time with its old scrollback moved out as
            # it goes: fed whole, the grid took every line (several bytes a cell, and Ghostty
            # keeps the pages it grew), a restored fleet three times the live one
            start = 0
            while start < len(output):
                end = slice_end(output, start)
                session.emulator.feed(output[start:end])
                session.emulator.archive_scrollback()
                start = end
            session.bump()
        session.info.process = EXITED
        session.info.state = EXITED
        session.info.error = note
        session.info.detection = Detection(EXITED)
        self._claim(session)
        self._emit(Event(spec.name, "state", session.info))
        return session.info

    def _fail(self, session: LocalSession, message: str) -> None:
        session.info.state = FAILED
        session.info.error = message
        session.info.process = FAILED  # last, as in _finish
        with session.lock:
            session.emulator.feed(b"\x1b[1;31magentdeck: " + message.encode() + b"\x1b[0m\r\n")
            session.bump()
        self._emit(Event(session.spec.name, "state", session.info))

    def stop(self, name: str, timeout: float = 3.0) -> None:
        """End the agent and every process it started (its tree: dev servers and watchers
        included), politely first, killing what is left after `timeout` seconds."""
        session = self._sessions.get(name)
        if session is not None and session.structured:
            session.stop(timeout)  # type: ignore[attr-defined]  # (an AcpSession)
            if session.spec.shadow:
                self._refs(session.spec.shadow["common_dir"]).remove(session.spec.name)
            return
        if session is None or session.child is None:
            return
        session.stopping = True
        child = session.child
        if alive(child) and child.pid is not None:
            end_tree(child.pid, timeout, session.marker)
        elif session.marker:  # the agent ended, what it left behind has not
            end_tree(-1, timeout, session.marker)
        if session.spec.shadow:
            self._refs(session.spec.shadow["common_dir"]).remove(session.spec.name)
        if session.wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(session.wake_w, b"x")  # the reader looks whether the agent is gone
        if session.reader:
            session.reader.join(timeout)

    def forget(self, name: str) -> None:
        """Stop a session and drop it (its agent was removed)."""
        self.stop(name, timeout=1.0)
        with self._lock:
            self._sessions.pop(name, None)

    def close(self) -> None:
        for name in list(self._sessions):
            self.stop(name, timeout=1.0)
        for broker in self._brokers.values():
            broker.close()
        self._watcher.close()
        for session in self._sessions.values():
            if session.child is not None:
                with contextlib.suppress(Exception):
                    session.child.close(force=True)

    # -- I/O ----------------------------------------------------------------------------------
    def _read(self, session: LocalSession) -> None:
        pump(session, self._take)  # (until the PTY closes: pty_session.pump)
        self._finish(session)

    def _take(self, session: LocalSession, data: bytes) -> None:
        """`data` into the session's screen, its queries answered, its listeners told. A
        batch goes in a slice at a time, each ending at a line's end, with a look after each
        at whether the scrollback moves out of the grid: a move waits for the screen's first
        row to begin a line, and a look per batch left a grid of long lines growing for
        thousands of rows (a look costs microseconds). Whoever mirrors the screen gets ED 3
        ("archived") at the point of the stream where it moved."""
        name, info = session.spec.name, session.info

        def answer(reply: bytes) -> None:
            self._answer(session, reply)

        with session.lock:
            count_redraw(session, info, data)
            told = start = 0
            while start < len(data):
                end = slice_end(data, start)
                # the agent's questions to its terminal are answered here, in order
                feed_answering(session.emulator, data if end - start == len(data)
                               else data[start:end], answer)
                start = end
                if session.emulator.archive_scrollback():
                    # under the lock: whoever mirrors this screen (the daemon's clients) gets
                    # the bytes in the same order as resizes and attach snapshots
                    self._emit(Event(name, "output", info, data[told:end]))
                    self._emit(Event(name, "archived", info))  # (mirrors clear theirs here)
                    told = end
            session.fed(data)  # a new version, unless a synchronized frame is still open
            info.last_output = time.monotonic()
            if told < len(data):
                self._emit(Event(name, "output", info, data[told:] if told else data))
        if reads_like_question(data[-QUESTION_TAIL:]):
            self._watcher.question(session)
        self._watcher.wake(session)

    @staticmethod
    def _answer(session: LocalSession, answer: bytes) -> None:
        child = session.child
        if child is not None and session.info.process == RUNNING:
            with contextlib.suppress(OSError):
                os.write(child.child_fd, answer)

    def _finish(self, session: LocalSession) -> None:
        child = session.child
        assert child is not None
        deadline = time.monotonic() + 2
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.01)
        with contextlib.suppress(Exception):
            child.close(force=True)
        code = child.exitstatus if child.exitstatus is not None else (
            -child.signalstatus if child.signalstatus is not None else None)
        with session.lock:  # (a detection under way never writes over the end)
            session.info.exit_code = code
            # stopped on request: "stopped", not an exit to look into
            session.info.state = STOPPED if session.stopping else EXITED
            session.info.detection = Detection(EXITED)
            # last: whoever sees the process ended (it is read without a lock) sees all of it
            session.info.process = EXITED
        self._emit(Event(session.spec.name, "state", session.info))

    def write(self, name: str, data: bytes) -> None:
        session = self._sessions[name]
        if session.structured and session.info.process == RUNNING:
            session.write(data)  # type: ignore[attr-defined]  # (an AcpSession: prompts)
            return
        if session.child is None or session.info.process != RUNNING:
            raise ValueError(f"{name} is not running")
        view = memoryview(data)
        while view:
            written = os.write(session.child.child_fd, view)
            view = view[written:]

    def resize(self, name: str, cols: int, rows: int) -> None:
        session = self._sessions.get(name)
        if session is None or cols < 2 or rows < 2:
            return
        with session.lock:
            if (session.emulator.cols, session.emulator.rows) == (cols, rows):
                return
            session.emulator.resize(cols, rows)
            session.resized_at = time.monotonic()
            session.redraw_left = cols * rows * 8  # a full screen, with its colours, and more
            session.bump()
            self._emit(Event(name, "resize", session.info, f"{cols}x{rows}".encode()))
        if session.child is not None and session.info.process == RUNNING:
            with contextlib.suppress(OSError):
                session.child.setwinsize(rows, cols)  # sends SIGWINCH

    # -- reading ------------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self._emit.add(listener)

    def snapshot(self, name: str) -> list[str]:
        session = self._sessions[name]
        with session.lock:
            return session.emulator.lines()

    def redetect(self, name: str) -> Detection:
        return read_screen(self._sessions[name])[1]

    def terminal(self, name: str) -> TerminalView:
        return self._sessions[name]

    def info(self, name: str) -> SessionInfo:
        return self._sessions[name].info

    def sessions(self) -> list[SessionInfo]:
        return [s.info for s in self._sessions.values()]

    # -- hook events ------------------------------------------------------------------------
    def hint(self, name: str, event: dict[str, object]) -> None:
        """A state event from the agent's hooks (Claude Code's Stop, UserPromptSubmit,
        Notification, SessionStart). Structured first: it says what the agent is doing when
        its screen says nothing recognisable; a screen that does say stays the authority
        (Claude sends no Stop after an API error or an interrupt)."""
        session = self._sessions.get(name)
        if session is None:
            return
        kind = str(event.get("hook_event_name") or "")
        note = " ".join(str(event.get(k) or "") for k in ("notification_type", "message"))
        state = {"Stop": IDLE, "UserPromptSubmit": WORKING}.get(kind)
        if kind == "Notification" and ("idle" in note or "waiting for your input" in note):
            state = IDLE
        session.info.last_event = kind
        if state is not None:
            session.hinted = state
            session.detected_version = -1  # look again now, with the hint
            session.looked_at = 0.0
            self._watcher.wake()


__all__ = ["EXITED", "FAILED", "IDLE", "RUNNING", "WAITING", "LocalHost"]
