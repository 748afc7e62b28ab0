"""The detection watcher: one thread that runs the detectors over the screens of the sessions
run here (local.LocalHost).

It re-detects only the screens that changed: a streaming one at most every LOOK_EVERY seconds,
less often in a large streaming fleet (output that reads like a question at once), once more
when a burst ends so a prompt drawn in pieces is seen whole, and every QUIET_RECHECK seconds
turns a screen that went quiet without a recognisable state from working into idle.
"""

from __future__ import annotations

import math
import termios
import threading
import time
from collections.abc import Callable, Mapping

import pexpect

from agentdeck.core.agents.sessions.activity import (
    ASKED_WINDOW,
    QUIET_IDLE,
    look_every,
)
from agentdeck.core.agents.sessions.host import RUNNING, Event
from agentdeck.core.agents.sessions.pty_session import LocalSession
from agentdeck.core.fleet.kinds import detector_of
from agentdeck.core.screen.detect import IDLE, UNKNOWN, WORKING, Detection, detect

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


def read_screen(session: LocalSession) -> tuple[int, Detection]:
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
    return version, detect(lines, detector_of(session.spec.agent), cursor_row, cols, wrapped)


class Watcher:
    """Runs on its own thread from construction to `close`. `sessions` is the host's own map
    (read as it stands at each turn); `emit` tells the host's listeners what a look found."""

    def __init__(self, sessions: Mapping[str, LocalSession], emit: Callable[[Event], None],
                 interval: float) -> None:
        self._sessions = sessions
        self._emit = emit
        self._detect_interval = interval
        self._closed = threading.Event()
        self._wake = threading.Event()
        self._asking: set[str] = set()  # sessions whose new bytes read like a question
        self._asked = threading.Event()  # one of them came: the watcher's pause ends at once
        self._look_every = look_every(0)  # how often a streaming screen is read, as it stands
        # until when the watcher sleeps if nothing wakes it: a changed screen whose look is due
        # before then wakes it; infinite while it works out how long to sleep (what changes
        # then wakes it), minus infinity during a round (the next reckoning sees it)
        self._sleep_until = math.inf
        self._thread = threading.Thread(target=self._watch, name="agentdeck-detect", daemon=True)
        self._thread.start()

    def wake(self, session: LocalSession | None = None) -> None:
        """A screen changed, or a hint came: look again. `session`: the screen that changed,
        which wakes the watcher only when its look is due; one read since wants its look later
        and waits for it (`_next_look`): woken by every read, the watcher went round the fleet
        up to 1 / interval times a second with ten agents streaming, to find their looks put
        off."""
        if session is None or self._due(session) < self._sleep_until:
            self._wake.set()

    def question(self, session: LocalSession) -> None:
        """The session's output just read like a question (called on its reader's thread)."""
        now = session.asked_at = time.monotonic()
        if now - session.looked_here > ASKED_WINDOW:
            # read here and now, on the thread that holds the bytes: handed to the watcher,
            # the question waited for it to wake and win the GIL from every busy reader
            session.looked_here = now
            self.detect(session, asked=True)
        else:  # (an agent whose every line reads like a question: the watcher's turn)
            self._asking.add(session.spec.name)
            self._asked.set()  # (ends the watcher's pause after a round)
            self._wake.set()  # (ends its sleep)

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        self._thread.join(2)

    def _watch(self) -> None:
        while not self._closed.is_set():
            # woken by output whose look is due; the timeout is the first look due, or a
            # re-check of screens that went quiet (working → idle) or hold a frame open, and
            # only while there is one: an idle fleet costs no wakeups
            self._sleep_until = math.inf
            until = self._next_look()
            self._sleep_until = math.inf if until is None else until
            self._wake.wait(None if until is None else max(0.0, until - time.monotonic()))
            self._wake.clear()
            self._sleep_until = -math.inf
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
                        self.detect(asking, asked=True)
                if session.frame_open:  # (the lock only for a session inside a frame)
                    with session.lock:
                        session.release_overdue_frame()
                self.detect(session)
            # a flood costs at most one look per screen per interval; output that came during
            # the look or the pause has set the wake again, so the last screen of a burst is
            # always read (by the next round, at once); a question ends the pause (it waited
            # half the pause on average: the larger part of a prompt's way to the queue)
            self._asked.wait(self._detect_interval)
            self._asked.clear()

    def _next_look(self) -> float | None:
        """Until when the watcher may sleep when nothing wakes it (time.monotonic()): the first
        look due of a screen that changed since its last (a look the throttle put off, the
        screen a burst ended on), or QUIET_RECHECK from now while a screen may go quiet; None
        (no timeout) for an idle fleet."""
        running = [s for s in list(self._sessions.values())
                   if s.info.process == RUNNING and not s.structured]
        owed = [self._due(s) for s in running
                if s.owed or s.version != s.detected_version]
        until = min(owed) if owed else None
        if any(s.info.state == WORKING or s.frame_open for s in running):
            recheck = time.monotonic() + QUIET_RECHECK
            until = recheck if until is None else min(until, recheck)
        return until

    def detect(self, session: LocalSession, asked: bool = False) -> None:
        with session.detect_lock:
            self._look(session, asked)

    def _due(self, session: LocalSession) -> float:
        """When the screen may be read again: at the next tick of a clock of the interval that
        all screens share, so the streaming ones are read together in one round an interval,
        not in a round each as their looks come due one by one (at most one look a tick)."""
        if time.monotonic() - session.asked_at <= ASKED_WINDOW:
            return 0.0  # (what follows a question is read at once: a dialog drawn in pieces)
        every = self._look_every
        return (math.floor(session.looked_at / every) + 1) * every

    def _look(self, session: LocalSession, asked: bool) -> None:
        info = session.info
        if info.process != RUNNING or session.structured:
            return
        now = time.monotonic()
        quiet = now - info.last_output
        if session.version == session.detected_version and not (
                info.state == WORKING and info.detection.state == UNKNOWN and quiet > QUIET_IDLE):
            return
        # a screen that keeps changing is read at most once a tick of LOOK_EVERY (_due), less
        # often in a large streaming fleet (activity.look_every: reading and detecting a
        # screen costs a millisecond or more: every frame of 40 streaming agents filled a
        # core); output that reads like a question is read at once, and so is what follows it
        # for a moment (a dialog drawn in pieces); the look put off is owed, and taken when
        # its time comes, so the screen a burst ends on is always read
        if not asked and now < self._due(session):
            session.owed = True
            return
        session.looked_at, session.owed = now, False
        version, found = read_screen(session)
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
