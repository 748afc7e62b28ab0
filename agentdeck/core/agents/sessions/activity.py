"""What a session's newest output says about it before the screen is read: whether it reads
like a question (that screen is read first), and whether it is only a program redrawing itself
after a resize (not work)."""

from __future__ import annotations

import time
from typing import Protocol

from agentdeck.core.agents.sessions.host import SessionInfo

QUIET_IDLE = 2.0  # seconds without output after which an undetectable screen counts as idle
REDRAW_GAP = 0.25  # a pause after a resize's redraw: what comes after it is new output
# New bytes that read like a question: the watcher reads that screen before the others (an
# order only: every changed screen is read), so with many agents streaming a prompt waits for
# one look, not a round of them. Plain substring counts, at memory speed (a regex took 80 ms a
# megabyte, half a flood's throughput); a CSI's private marker (ESC[?2026h around each frame of
# Ink programs) is no question.
QUESTION_WORDS = (b"[y/n]", b"(y)", b"llow", b"pprove", b"roceed", b"onfirm")
QUESTION_TAIL = 4096  # (a question that waits ends its output: a dialog's frame fits in this)
# A streaming screen is read by the detectors at most this often (a question is read at once):
# what the sidebar shows of a working agent need not move faster than a person reads it.
LOOK_EVERY = 0.15
# ... and the fleet's streaming screens at most this many times a second together (each look
# costs a millisecond or more: 40 streaming agents read every 150 ms filled a third of a core
# and queued the look at a question behind them); a larger fleet's screens are each read less
# often, a question still at once
LOOKS_PER_SECOND = 100
ASKED_WINDOW = 0.3  # after output that read like a question, every change is read at once


def look_every(streaming: int) -> float:
    """How often a streaming screen is read with `streaming` screens changing."""
    return max(LOOK_EVERY, streaming / LOOKS_PER_SECOND)


def reads_like_question(data: bytes) -> bool:
    return (data.count(b"?") > data.count(b"\x1b[?")
            or any(word in data for word in QUESTION_WORDS))


class Resized(Protocol):
    resized_at: float  # when its terminal last changed size (time.monotonic())
    redraw_left: int  # bytes of output after it still taken as its redraw


def count_redraw(session: Resized, info: SessionInfo, data: bytes) -> None:
    """The output that follows a resize, in one burst and within a screen's worth of bytes, is
    the program redrawing itself (a shell's prompt, a TUI's frame): not work. A pause, then
    more, is."""
    if session.redraw_left <= 0:
        return
    now = time.monotonic()
    redrawing = info.last_output > session.resized_at  # (it began)
    if (redrawing and now - info.last_output > REDRAW_GAP) or (
            not redrawing and now - session.resized_at > QUIET_IDLE):  # (it never came)
        session.redraw_left = 0
    else:
        session.redraw_left = max(0, session.redraw_left - len(data))
