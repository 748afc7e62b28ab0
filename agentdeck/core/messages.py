"""Typing a message into an agent so that it arrives whole and is submitted, whatever the CLI.

Programs built on Ink (Claude Code, Codex CLI, Gemini CLI) and prompt_toolkit (Aider) read a
carriage return that arrives in the same read as the text before it as part of a paste — a
newline in the message, not "send". So the text goes first (inside bracketed-paste markers when
the program turned bracketed paste on, so its own newlines stay newlines), and Enter follows as
a write of its own after a pause. A program that did not ask for bracketed paste gets a
multi-line message as one line, since each CR would submit a fragment.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from agentdeck.core.errors import OperationError
from agentdeck.core.sessions import SessionHost

PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"
SUBMIT_PAUSE = 0.25  # seconds between the text and its Enter
SHELLS = {"shell", "bash", "zsh", "sh"}


@dataclass(frozen=True)
class Delivery:
    writes: tuple[tuple[bytes, float], ...]  # (bytes, seconds to wait after them)


def delivery(kind: str, text: str, bracketed_paste: bool) -> Delivery:
    body = text.replace("\r\n", "\n").strip("\n")
    if not body.strip():
        return Delivery(())
    if kind in SHELLS:  # a shell runs each line: that is what a message to a shell means
        return Delivery(((body.replace("\n", "\r").encode() + b"\r", 0.0),))
    if "\n" in body and bracketed_paste:
        typed = PASTE_START + body.replace("\n", "\r").encode() + PASTE_END
    else:
        typed = " ".join(line.strip() for line in body.split("\n") if line.strip()).encode()
    return Delivery(((typed, SUBMIT_PAUSE), (b"\r", 0.0)))


def send(write: Callable[[bytes], None], plan: Delivery,
         sleep: Callable[[float], None] = time.sleep) -> None:
    for data, pause in plan.writes:
        write(data)
        if pause:
            sleep(pause)


def type_into(host: SessionHost, name: str, text: str) -> None:
    """Type `text` into a running agent and submit it, as its kind and its terminal modes
    need (blocking: it pauses between the text and its Enter)."""
    info = host.info(name)
    if info.process != "running":
        raise OperationError(f"{name} is not running; nothing was sent")
    try:
        with host.terminal(name) as emulator:
            bracketed = emulator.modes().bracketed_paste
    except KeyError:  # a daemon client that has not mirrored its screen yet
        bracketed = False
    send(lambda data: host.write(name, data), delivery(info.agent, text, bracketed))
