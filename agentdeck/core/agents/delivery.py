"""Typing a message into an agent so that it arrives whole and is submitted, whatever the CLI.

Programs built on Ink (Claude Code, Codex CLI, Gemini CLI) and prompt_toolkit (Aider) read a
carriage return that arrives in the same read as the text before it as part of a paste — a
newline in the message, not "send". So the text goes first (inside bracketed-paste markers when
the program turned bracketed paste on, so its own newlines stay newlines), and Enter follows as
a write of its own — not after a fixed pause, which is a race on a loaded machine, but once the
agent's screen shows the text (or its paste placeholder). Then the screen must move (the input
clears, the agent starts working); an Enter the agent did not take is sent once more. A program
that did not ask for bracketed paste gets a multi-line message as one line, since each CR would
submit a fragment.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from agentdeck.core.agents.launch import is_shell
from agentdeck.core.agents.sessions import SessionHost, poll_until
from agentdeck.core.errors import OperationError
from agentdeck.core.fleet.spec import Fleet

PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"
ECHO_TIMEOUT = 10.0  # how long the typed text may take to show before Enter goes anyway
SUBMIT_TIMEOUT = 2.0  # how long the screen may take to react to Enter before it is sent again
STEADY = 0.3  # how long the input must stay cleared to count (not a redraw's blank frame)
QUIET = 0.1  # how long the screen must rest, the text shown, before Enter
_NOT_TEXT = re.compile(r"[\s│┃║╭╮╰╯─━═|>❯›]+")
_PASTED = re.compile(r"past", re.IGNORECASE)  # "[Pasted text #1 +3 lines]", "[Pasted Content …]"


@dataclass(frozen=True)
class Delivery:
    typed: bytes  # the text as it is written to the PTY
    submit: bytes = b""  # written after the text shows: Enter, or nothing (a shell's own CRs)
    echo: str = ""  # what the screen shows once the text is in (no spaces), "" to not wait
    pasted: bool = False  # sent as a bracketed paste: a placeholder may stand for the text


def delivery(kind: str, text: str, bracketed_paste: bool,
             fleet: Fleet | None = None) -> Delivery | None:
    """How a message reaches an agent of `kind` (of `fleet`: its commands say which kinds are
    shells); None for a blank message."""
    body = text.replace("\r\n", "\n").strip("\n")
    if not body.strip():
        return None
    if is_shell(fleet, kind):  # a shell runs each line: that is what a message to it means
        return Delivery(body.replace("\n", "\r").encode() + b"\r")
    pasted = "\n" in body and bracketed_paste
    if pasted:
        typed = PASTE_START + body.replace("\n", "\r").encode() + PASTE_END
    else:
        typed = " ".join(line.strip() for line in body.split("\n") if line.strip()).encode()
    # the end of the text: an input box that scrolls or wraps keeps its last characters in view
    echo = _squeezed(body.split("\n")[-1] if pasted else typed.decode())[-16:]
    return Delivery(typed, b"\r", echo, pasted)


def _squeezed(text: str) -> str:
    return _NOT_TEXT.sub("", text)


def send(host: SessionHost, name: str, plan: Delivery,
         clock: Callable[[], float] = time.monotonic) -> bool:
    """Write `plan` into `name`: the text, then — once the screen shows it — Enter, then make
    sure it was taken: the agent started working, or the text left the input box (it may
    reappear higher up, in the conversation). Enter is
    sent once more only when the agent visibly ignored it (Gemini CLI reads an Enter right
    after a paste as part of it). Returns whether the submission was seen to be taken."""
    host.write(name, plan.typed)
    if not plan.submit:
        return True
    found: list[tuple[int, str]] = []
    last: list[list[str]] = [[]]

    def echoed_and_still() -> bool:
        # the text is in, and the agent has stopped redrawing: it is done with the paste (Gemini
        # CLI takes an Enter within 40 ms of an untrusted paste as a newline)
        lines = host.snapshot(name)
        at = _echo_row(lines, plan)
        still, last[0] = lines == last[0], lines
        if at is not None:
            found.append(at)
        return at is not None and still

    # not shown in time: Enter goes anyway
    _until(_steadily(echoed_and_still, clock, QUIET), ECHO_TIMEOUT, clock)

    def taken() -> bool:
        info = host.info(name)
        # its own busy line (not mere output); or it reads lines, which the kernel hands it at
        # Enter — the text stays on its screen, above what it prints next
        if info.detection.state == "working" or info.line_input:
            return True
        if not found:
            return True  # nothing to compare with: trust the Enter
        row, _text = found[-1]
        now = _echo_row(host.snapshot(name), plan)
        # the input box cleared: the text is gone, or only higher up, in the conversation —
        # not merely one row up (an Enter taken as a newline grows the box by a line)
        return now is None or now[0] <= row - 2

    host.write(name, plan.submit)
    if _until(_steadily(taken, clock, STEADY), SUBMIT_TIMEOUT, clock):
        return True
    if found and _untaken(host, name, found[-1]):
        # the Enter did nothing visible and the agent sits idle with the text still in its
        # input: send it once more. Never otherwise — an Enter an agent has not read yet is
        # taken by whatever it asks next, and would answer a prompt nobody saw.
        host.write(name, plan.submit)
        return _until(_steadily(taken, clock, STEADY), SUBMIT_TIMEOUT, clock)
    return False


def _untaken(host: SessionHost, name: str, echo: tuple[int, str]) -> bool:
    info = host.info(name)
    row, text = echo
    lines = host.snapshot(name)
    return (info.detection.state == "idle" and info.detection.prompt is None
            and row < len(lines) and lines[row] == text)


def _steadily(condition: Callable[[], bool], clock: Callable[[], float],
              steady: float) -> Callable[[], bool]:
    """`condition` that counts only once it has held for `steady` seconds: an agent that clears
    and redraws its screen shows an empty input box for a moment whatever happened."""
    since: list[float] = []

    def check() -> bool:
        if not condition():
            since.clear()
            return False
        if not since:
            since.append(clock())
        return clock() - since[0] >= steady

    return check


def _echo_row(lines: list[str], plan: Delivery) -> tuple[int, str] | None:
    """The last row showing the end of the typed text (or a paste's placeholder)."""
    for row in range(len(lines) - 1, -1, -1):
        line = lines[row]
        if (plan.echo and plan.echo[-6:] in _squeezed(line)) or (
                plan.pasted and _PASTED.search(line)):
            # the whole text may wrap over rows: make sure it is all in before Enter goes
            window = _squeezed("".join(lines[max(0, row - 8): row + 1]))
            if plan.echo in window or (plan.pasted and _PASTED.search(line)):
                return row, line
            return None
    return None


def _until(condition: Callable[[], bool], timeout: float, clock: Callable[[], float]) -> bool:
    return poll_until(condition, timeout, interval=0.02, clock=clock)


def type_into(host: SessionHost, name: str, text: str, fleet: Fleet | None = None) -> bool:
    """Type `text` into a running agent and submit it, as its kind (in `fleet`) and its
    terminal modes need (blocking: it waits for the agent's screen; call it off the UI's event
    loop). Returns whether the agent was seen to take it."""
    info = host.info(name)
    if info.process != "running":
        raise OperationError(f"{name} is not running; nothing was sent")
    if info.channel == "acp":  # a prompt, whole: no screen to wait on (acp/session.py)
        body = text.replace("\r\n", "\n").strip("\n")
        if body.strip():
            host.write(name, PASTE_START + body.encode() + PASTE_END + b"\r")
        return True
    try:
        with host.terminal(name) as emulator:
            bracketed = emulator.modes().bracketed_paste
    except KeyError:  # a daemon client that has not mirrored its screen yet
        bracketed = False
    plan = delivery(info.agent, text, bracketed, fleet)
    return send(host, name, plan) if plan is not None else True
