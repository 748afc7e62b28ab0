"""The in-process SessionHost: a PTY per agent (pexpect), a reader thread per PTY, and one
watcher thread that runs the detectors.

Reads never touch the UI's event loop: each reader thread blocks in `select` on its PTY, feeds
everything available to the emulator in one go (so a flood of small writes costs one emulator
call per read, not one per write), and bumps a version number the panes poll at ~30 Hz. The
watcher re-detects only the screens that changed: a streaming one at most every LOOK_EVERY
seconds, less often in a large streaming fleet (output that reads like a question at once),
once more when a burst ends so a prompt drawn in pieces is seen whole, and every QUIET_RECHECK
seconds turns a screen that went quiet without a recognisable state from working into idle.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import select
import termios
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pexpect

from agentdeck.core.agents.programs import find_program, missing
from agentdeck.core.agents.refs import RefBroker, RefShadow
from agentdeck.core.agents.sessions.activity import (
    ASKED_WINDOW,
    QUESTION_TAIL,
    QUIET_IDLE,
    count_redraw,
    look_every,
    reads_like_question,
)
from agentdeck.core.agents.sessions.host import (
    EXITED,
    FAILED,
    RUNNING,
    STOPPED,
    SYNC_TIMEOUT,
    Event,
    Listener,
    SessionHost,
    SessionInfo,
    SessionSpec,
    TerminalView,
)
from agentdeck.core.proctree import MARKER, end_tree
from agentdeck.core.screen.detect import IDLE, UNKNOWN, WAITING, WORKING, Detection, detect
from agentdeck.core.screen.terminal import Emulator, make_emulator
from agentdeck.core.screen.terminal.replies import feed_answering

log = logging.getLogger(__name__)
READ_SIZE = 1 << 16
FEED_BACKLOG = 64  # reads waiting to be parsed, at most READ_SIZE each
BATCH_SIZE = 1 << 20
QUIET_RECHECK = 0.25  # how often the watcher looks at screens that produced no output


def _line_input(child: pexpect.spawn | None) -> bool:
    """Whether the agent's terminal is in canonical mode (the master side reads the pair's
    settings)."""
    if child is None:
        return False
    try:
        return bool(termios.tcgetattr(child.child_fd)[3] & termios.ICANON)
    except (termios.error, OSError, ValueError):
        return False


def _alive(child: pexpect.spawn) -> bool:
    """isalive() that survives a race with another thread reaping the same child."""
    try:
        return bool(child.isalive())
    except pexpect.ExceptionPexpect:
        return False


def _more(fd: int) -> bool:
    """Whether more output waits to be read now (a flood, not a frame)."""
    try:
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return False


def _read_some(fd: int) -> bytes:
    """Up to READ_SIZE bytes; b"" at EOF, and when the PTY is gone (EIO on Linux)."""
    try:
        return os.read(fd, READ_SIZE)
    except OSError:
        return b""


class _Session(TerminalView):
    def __init__(self, spec: SessionSpec, emulator: Emulator) -> None:
        super().__init__(emulator)
        self.spec = spec
        self.info = SessionInfo(name=spec.name, agent=spec.agent)
        self.child: pexpect.spawn | None = None
        self.detected_version = -1
        self.reader: threading.Thread | None = None
        self.stopping = False
        # written to wake the PTY reader (blocked in select with no timeout: an idle agent
        # costs no wakeups) when the session is being stopped; made by the reader
        self.wake_r = self.wake_w = -1
        self.hinted: str | None = None  # the state its last hook event implies
        self.resized_at = 0.0  # when its terminal last changed size (time.monotonic())
        self.redraw_left = 0  # bytes of output after a resize still taken as its redraw
        self.marker = ""  # its MARKER value (core/proctree.py)
        self.looked_at = 0.0  # when the detectors last read its screen (time.monotonic())
        self.asked_at = 0.0  # when its output last read like a question
        self.owed = False  # its screen changed since a look the throttle put off
        self.in_flight = 0  # reads handed to its feeder thread and not yet fed
        self.looked_here = 0.0  # when its reader last read its screen itself (a question)
        self.detect_lock = threading.Lock()  # one look at a time (the watcher's, the reader's)
        self.flight_lock = threading.Lock()


class LocalHost(SessionHost):
    def __init__(self, detect_interval: float = 0.015, backend: str | None = None,
                 sync_timeout: float = SYNC_TIMEOUT) -> None:
        self._sync_timeout = sync_timeout
        self._sessions: dict[str, _Session] = {}
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._backend = backend
        self._detect_interval = detect_interval
        self._closed = threading.Event()
        self._wake = threading.Event()
        self._asking: set[str] = set()  # sessions whose new bytes read like a question
        self._asked = threading.Event()  # one of them came: the watcher's pause ends at once
        self._look_every = look_every(0)  # how often a streaming screen is read, as it stands
        self._watcher = threading.Thread(target=self._watch, name="agentdeck-detect", daemon=True)
        self._watcher.start()
        self._brokers: dict[str, RefBroker] = {}  # common dir → its sandboxed agents' refs

    def _refs(self, common_dir: str) -> RefBroker:
        with self._lock:
            if common_dir not in self._brokers:
                self._brokers[common_dir] = RefBroker(Path(common_dir))
            return self._brokers[common_dir]

    # -- lifecycle ----------------------------------------------------------------------------
    def spawn(self, spec: SessionSpec) -> SessionInfo:
        if spec.name in self._sessions and self._sessions[spec.name].info.process == RUNNING:
            raise ValueError(f"session {spec.name} is already running")
        emulator = make_emulator(spec.cols, spec.rows, spec.scrollback, self._backend)
        session = _Session(spec, emulator)
        session.sync_timeout = self._sync_timeout
        with self._lock:
            self._sessions[spec.name] = session
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
        child.delayafterclose = child.ptyproc.delayafterclose = 0.0
        session.child = child
        session.info.pid = child.pid
        session.info.process = RUNNING
        session.info.state = WORKING
        session.info.last_output = time.monotonic()
        session.reader = threading.Thread(target=self._read, args=(session,),
                                          name=f"agentdeck-pty-{spec.name}", daemon=True)
        session.reader.start()
        self._emit(Event(spec.name, "state", session.info))
        self._wake.set()  # a working session: the watcher looks again while it works
        return session.info

    def restore(self, spec: SessionSpec, output: bytes, note: str) -> SessionInfo:
        """A session whose process is gone (its host died), shown as it last looked: its
        transcript replayed into a screen, exited, with `note` saying what to do."""
        if spec.name in self._sessions and self._sessions[spec.name].info.process == RUNNING:
            raise ValueError(f"session {spec.name} is already running")
        session = _Session(spec, make_emulator(spec.cols, spec.rows, spec.scrollback,
                                               self._backend))
        with session.lock:
            # fed as a live session is, a read's worth at a time with its old scrollback moved
            # out as it goes: fed whole, the grid took every line (several bytes a cell, and
            # Ghostty keeps the pages it grew), a restored fleet three times the live one
            for start in range(0, len(output), READ_SIZE):
                session.emulator.feed(output[start:start + READ_SIZE])
                session.emulator.archive_scrollback()
            session.bump()
        session.info.process = EXITED
        session.info.state = EXITED
        session.info.error = note
        session.info.detection = Detection(EXITED)
        with self._lock:
            self._sessions[spec.name] = session
        self._emit(Event(spec.name, "state", session.info))
        return session.info

    def _fail(self, session: _Session, message: str) -> None:
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
        if session is None or session.child is None:
            return
        session.stopping = True
        child = session.child
        if _alive(child):
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
        self._closed.set()
        self._wake.set()
        self._watcher.join(2)
        for session in self._sessions.values():
            if session.child is not None:
                with contextlib.suppress(Exception):
                    session.child.close(force=True)

    # -- I/O ----------------------------------------------------------------------------------
    def _read(self, session: _Session) -> None:
        """Read the PTY and hand the bytes to the feeder thread: reading and parsing overlap
        (both release the GIL), and the bounded queue keeps a flooding agent's backlog small
        (when it is full the agent's writes block, as on a real terminal). A read with nothing
        behind it and nothing in flight (an agent streaming, not flooding) is fed here: a hand
        over between threads cost more than feeding a frame (40 streaming agents: thousands of
        wakeups a second)."""
        child = session.child
        assert child is not None
        fd = child.child_fd
        session.wake_r, session.wake_w = os.pipe()
        feed: queue.Queue[bytes | None] = queue.Queue(maxsize=FEED_BACKLOG)
        feeder = threading.Thread(target=self._feed, args=(session, feed),
                                  name=f"agentdeck-feed-{session.spec.name}", daemon=True)
        feeder.start()
        while True:
            try:
                ready, _, _ = select.select([fd, session.wake_r], [], [])
            except (OSError, ValueError):
                break
            if session.wake_r in ready:
                with contextlib.suppress(OSError):
                    os.read(session.wake_r, 64)
                if session.stopping and not _alive(child):
                    break
            if fd not in ready:
                continue
            data = _read_some(fd)
            if not data:
                break
            with session.flight_lock:
                inline = session.in_flight == 0 and not _more(fd)
                if not inline:
                    session.in_flight += 1
            if inline:
                self._take(session, data)
            else:
                feed.put(data)
        feed.put(None)
        feeder.join()
        wake = (session.wake_r, session.wake_w)
        session.wake_r = session.wake_w = -1
        for end in wake:
            with contextlib.suppress(OSError):
                os.close(end)
        self._finish(session)

    def _feed(self, session: _Session, feed: queue.Queue[bytes | None]) -> None:
        ended = False
        while not ended:
            chunk = feed.get()
            if chunk is None:
                return
            # coalesce what is already waiting: a flood costs one feed per batch
            chunks, size = [chunk], len(chunk)
            while size < BATCH_SIZE:
                try:
                    more = feed.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    ended = True
                    break
                chunks.append(more)
                size += len(more)
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            self._take(session, data)
            with session.flight_lock:
                session.in_flight -= len(chunks)

    def _take(self, session: _Session, data: bytes) -> None:
        """`data` into the session's screen, its queries answered, its listeners told."""
        with session.lock:
            count_redraw(session, session.info, data)
            # the agent's questions to its terminal are answered here, in order
            feed_answering(session.emulator, data, lambda answer: self._answer(session,
                                                                               answer))
            archived = session.emulator.archive_scrollback()
            session.fed(data)  # a new version, unless a synchronized frame is still open
            session.info.last_output = time.monotonic()
            # under the lock: whoever mirrors this screen (the daemon's clients) gets the
            # bytes in the same order as resizes and attach snapshots
            self._emit(Event(session.spec.name, "output", session.info, data))
            if archived:  # mirrors clear their grid's scrollback at this same point
                self._emit(Event(session.spec.name, "archived", session.info))
        if reads_like_question(data[-QUESTION_TAIL:]):
            now = session.asked_at = time.monotonic()
            if now - session.looked_here > ASKED_WINDOW:
                # read here and now, on the thread that holds the bytes: handed to the watcher,
                # the question waited for it to wake and win the GIL from every busy reader
                session.looked_here = now
                self._detect(session, asked=True)
            else:  # (an agent whose every line reads like a question: the watcher's turn)
                self._asking.add(session.spec.name)
                self._asked.set()
        self._wake.set()

    @staticmethod
    def _answer(session: _Session, answer: bytes) -> None:
        child = session.child
        if child is not None and session.info.process == RUNNING:
            with contextlib.suppress(OSError):
                os.write(child.child_fd, answer)

    def _finish(self, session: _Session) -> None:
        child = session.child
        assert child is not None
        deadline = time.monotonic() + 2
        while _alive(child) and time.monotonic() < deadline:
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
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # one broken listener must not stop the PTY reader
                log.exception("session listener failed on %s", event.kind)

    def snapshot(self, name: str) -> list[str]:
        session = self._sessions[name]
        with session.lock:
            return session.emulator.lines()

    def redetect(self, name: str) -> Detection:
        return self._read_screen(self._sessions[name])[1]

    @staticmethod
    def _read_screen(session: _Session) -> tuple[int, Detection]:
        """The screen's version and what it shows now — as of its last complete frame: while
        a synchronized update is open, what was last read stands."""
        with session.lock:
            if session.frame_open:
                return session.detected_version, session.info.detection
            version = session.version
            lines = session.emulator.lines()
            cursor_row = session.emulator.cursor()[1]
            cols = session.emulator.cols
            wrapped = session.emulator.wrapped_rows()
        return version, detect(lines, session.spec.agent, cursor_row, cols, wrapped)

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
            self._wake.set()

    # -- detection ----------------------------------------------------------------------------
    def _watch(self) -> None:
        while not self._closed.is_set():
            # woken by output; the timeout re-checks screens that went quiet (working → idle) or
            # hold a frame open, and only while there is one: an idle fleet costs no wakeups
            self._wake.wait(self._next_look())
            self._wake.clear()
            if self._closed.is_set():
                return
            now = time.monotonic()
            self._look_every = look_every(sum(
                now - s.info.last_output < 1.0 for s in list(self._sessions.values())))
            for session in list(self._sessions.values()):
                # those asking now, once each (more may come meanwhile: the next turn's)
                for _ in range(len(self._asking)):  # (only this thread takes from it)
                    asking = self._sessions.get(self._asking.pop())
                    if asking is not None:
                        self._detect(asking, asked=True)
                if session.frame_open:  # (the lock only for a session inside a frame)
                    with session.lock:
                        session.release_overdue_frame()
                self._detect(session)
            # a flood costs at most one look per screen per interval; output that came during
            # the look or the pause has set the wake again, so the last screen of a burst is
            # always read (by the next round, at once); a question ends the pause (it waited
            # half the pause on average: the larger part of a prompt's way to the queue)
            self._asked.wait(self._detect_interval)
            self._asked.clear()

    def _next_look(self) -> float | None:
        """How long the watcher may sleep when no output wakes it: until a look the throttle
        put off is due (the screen a burst ended on), or QUIET_RECHECK while a screen may go
        quiet; None (no timeout) for an idle fleet."""
        running = [s for s in list(self._sessions.values()) if s.info.process == RUNNING]
        owed = [s.looked_at + self._look_every for s in running if s.owed]
        wait = max(0.0, min(owed) - time.monotonic()) if owed else None
        if any(s.info.state == WORKING or s.frame_open for s in running):
            wait = QUIET_RECHECK if wait is None else min(wait, QUIET_RECHECK)
        return wait

    def _detect(self, session: _Session, asked: bool = False) -> None:
        with session.detect_lock:
            self._look(session, asked)

    def _look(self, session: _Session, asked: bool) -> None:
        info = session.info
        if info.process != RUNNING:
            return
        now = time.monotonic()
        quiet = now - info.last_output
        if session.version == session.detected_version and not (
                info.state == WORKING and info.detection.state == UNKNOWN and quiet > QUIET_IDLE):
            return
        # a screen that keeps changing is read at most every LOOK_EVERY, less often in a large
        # streaming fleet (activity.look_every: reading and detecting a screen costs a
        # millisecond or more: every frame of 40 streaming agents filled a core); output that
        # reads like a question is read at once, and so is what follows it for a moment (a
        # dialog drawn in pieces); the look put off is owed, and taken when its time comes, so
        # the screen a burst ends on is always read
        if (not asked and now - session.looked_at < self._look_every
                and now - session.asked_at > ASKED_WINDOW):
            session.owed = True
            return
        session.looked_at, session.owed = now, False
        version, found = self._read_screen(session)
        session.detected_version = version
        state = found.state
        if state == UNKNOWN:
            # nothing on screen says: the hooks' last word, else quiet means idle — and an idle
            # program redrawing itself for a new terminal size has not started working
            redraw = info.state == IDLE and session.redraw_left > 0
            state = session.hinted or (IDLE if quiet > QUIET_IDLE or redraw else WORKING)
        line_input = _line_input(session.child)
        with session.lock:  # the process may have ended while the screen was read
            if info.process != RUNNING:
                return
            changed = (state != info.state or found.prompt != info.detection.prompt
                       or found.reset != info.detection.reset
                       or found.detail != info.detection.detail or line_input != info.line_input)
            info.detection = found
            info.state = state
            info.line_input = line_input
        if changed:
            self._emit(Event(session.spec.name, "state", info))
        elif found.prompt is not None:
            # the same prompt read from a screen that changed: the queue tells a prompt asked
            # again where the answered one stood from one still being erased (approvals)
            self._emit(Event(session.spec.name, "redrawn", info))


__all__ = ["EXITED", "FAILED", "IDLE", "RUNNING", "WAITING", "LocalHost"]
