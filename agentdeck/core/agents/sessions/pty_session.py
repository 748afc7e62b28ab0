"""A session run here: the record its PTY reader, its feeder and the detection watcher share,
and the PTY primitives they read it with."""

from __future__ import annotations

import os
import select
import threading

import pexpect

from agentdeck.core.agents.sessions.host import SessionInfo, SessionSpec, TerminalView
from agentdeck.core.screen.terminal import Emulator

READ_SIZE = 1 << 16


def alive(child: pexpect.spawn) -> bool:
    """isalive() that survives a race with another thread reaping the same child."""
    try:
        return bool(child.isalive())
    except pexpect.ExceptionPexpect:
        return False


def more_waiting(fd: int) -> bool:
    """Whether more output waits to be read now (a flood, not a frame)."""
    try:
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):
        return False


def read_some(fd: int) -> bytes:
    """Up to READ_SIZE bytes; b"" at EOF, and when the PTY is gone (EIO on Linux)."""
    try:
        return os.read(fd, READ_SIZE)
    except OSError:
        return b""




class LocalSession(TerminalView):
    # an agent driven through a structured channel (ACP: core/agents/acp/session.py): its
    # state comes by its protocol, its screen is a log no detector reads
    structured = False

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
