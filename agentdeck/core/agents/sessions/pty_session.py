"""A session run here: the record its PTY reader, its feeder and the detection watcher share,
the PTY primitives they read it with, and the reading loop (pump)."""

from __future__ import annotations

import contextlib
import os
import queue
import select
import threading
from collections.abc import Callable

import pexpect

from agentdeck.core.agents.sessions.host import SessionInfo, SessionSpec, TerminalView
from agentdeck.core.screen.terminal import Emulator

READ_SIZE = 1 << 16
# A PTY read gives at most ~4 KB (the line discipline's buffer): a flood is thousands of
# reads a second. What is already waiting goes to the feeder as one batch of up to GATHER
# bytes (one hand-over, one wakeup, one select less per read).
GATHER = 128 << 10
FEED_BACKLOG = 8  # batches waiting to be parsed, at most GATHER (and a read) each
# a batch goes into the screen this much at a time (at a line's end), with a look after each
# at whether its scrollback moves out of the grid (see _take)
SLICE = 32 << 10


def slice_end(data: bytes, start: int) -> int:
    """Where the slice of `data` from `start` ends: after the first newline past SLICE bytes
    (a terminal query never holds one), else at the end."""
    if len(data) - start <= SLICE:
        return len(data)
    cut = data.find(b"\n", start + SLICE)
    return len(data) if cut < 0 else cut + 1



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


def pump(session: LocalSession, take: Callable[[LocalSession, bytes], None]) -> None:
    """Read the PTY until it closes and hand the bytes to `take` on a feeder thread: reading
    and parsing overlap (both release the GIL), and the bounded queue keeps a flooding
    agent's backlog small (when it is full the agent's writes block, as on a real terminal).
    A read with nothing behind it and nothing in flight (an agent streaming, not flooding) is
    taken here: a hand-over between threads cost more than feeding a frame (40 streaming
    agents: thousands of wakeups a second)."""
    child = session.child
    assert child is not None
    fd = child.child_fd
    session.wake_r, session.wake_w = os.pipe()
    feed: queue.Queue[bytes | None] = queue.Queue(maxsize=FEED_BACKLOG)
    feeder = threading.Thread(target=_feed, args=(session, feed, take),
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
            if session.stopping and not alive(child):
                break
        if fd not in ready:
            continue
        data = read_some(fd)
        if not data:
            break
        waiting = more_waiting(fd)
        ended = False
        if waiting:  # a flood: what waits already goes over with it, in one batch
            parts, size = [data], len(data)
            while waiting and size < GATHER:
                more = read_some(fd)
                if not more:
                    ended = True
                    break
                parts.append(more)
                size += len(more)
                waiting = more_waiting(fd)
            data = b"".join(parts)
        with session.flight_lock:
            inline = session.in_flight == 0 and not waiting and len(data) <= READ_SIZE
            if not inline:
                session.in_flight += 1
        if inline:
            take(session, data)
        else:
            feed.put(data)
        if ended:
            break
    feed.put(None)
    feeder.join()
    wake = (session.wake_r, session.wake_w)
    session.wake_r = session.wake_w = -1
    for end in wake:
        with contextlib.suppress(OSError):
            os.close(end)


def _feed(session: LocalSession, feed: queue.Queue[bytes | None],
      take: Callable[[LocalSession, bytes], None]) -> None:
    # a batch at a time, as the reader gathered it (joined, they were copied once more)
    while (data := feed.get()) is not None:
        take(session, data)
        with session.flight_lock:
            session.in_flight -= 1
