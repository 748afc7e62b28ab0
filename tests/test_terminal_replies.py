"""A pane answers what the agent asks its terminal, in order, byte for byte — in-process and
from the session host daemon with no dashboard attached, on both emulator backends — and the
agent's environment is a clean one: no TMUX or other terminal's variables, true colour."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from agentdeck import __version__
from agentdeck.core.agents.launch import terminal_environment
from agentdeck.core.agents.sessions import LocalHost, SessionSpec
from agentdeck.core.screen.terminal import backends
from agentdeck.daemon import lifecycle
from tests.conftest import wait

# raw mode; moves the cursor, asks each question and records the exact answer it read
ASKER = r"""
import json, os, select, sys, tty
tty.setraw(0)
out = {}
os.write(1, b"\x1b[2J\x1b[3;5Hhello")
for name, query in [("cpr", b"\x1b[6n"), ("decxcpr", b"\x1b[?6n"), ("status", b"\x1b[5n"),
                    ("da1", b"\x1b[c"), ("da2", b"\x1b[>c"), ("xtversion", b"\x1b[>0q"),
                    ("cells", b"\x1b[18t"), ("pixels", b"\x1b[14t"),
                    ("bracketed", b"\x1b[?2004h\x1b[?2004$p"), ("unknown", b"\x1b[?9999$p"),
                    ("background", b"\x1b]11;?\x07"), ("palette", b"\x1b]4;196;?\x07"),
                    ("focus", b"\x1b[?1004h\x1b[?1004$p"), ("sync", b"\x1b[?2026$p"),
                    # as the protocol's docs advise: the flags query, then device attributes,
                    # so a terminal without the protocol answers only the second
                    ("kitty", b"\x1b[>5u\x1b[?u\x1b[c")]:
    os.write(1, query)
    answer = b""
    while True:
        ready, _, _ = select.select([0], [], [], 10)
        if not ready:
            break
        answer += os.read(0, 256)
        if answer.endswith((b"R", b"n", b"c", b"\x1b\\", b"t", b"y", b"\x07")):
            break
    out[name] = answer.decode("latin-1")
open(sys.argv[1] + ".part", "w").write(json.dumps(out))
os.replace(sys.argv[1] + ".part", sys.argv[1])  # whole when the test sees it
os.write(1, b"\r\ndone")
select.select([0], [], [], 60)
"""

WANT = {"cpr": "\x1b[3;10R", "decxcpr": "\x1b[?3;10R", "status": "\x1b[0n",
        "da1": "\x1b[?62;22c", "da2": "\x1b[>1;10;0c",
        "xtversion": f"\x1bP>|agentdeck {__version__}\x1b\\", "cells": "\x1b[8;30;100t",
        "pixels": "\x1b[4;480;800t", "bracketed": "\x1b[?2004;1$y",
        "unknown": "\x1b[?9999;0$y", "background": "\x1b]11;rgb:1e1e/1e1e/1e1e\x1b\\",
        "palette": "\x1b]4;196;rgb:ffff/0000/0000\x1b\\", "focus": "\x1b[?1004;1$y",
        "sync": "\x1b[?2026;2$y", "kitty": "\x1b[?5u\x1b[?62;22c"}


def spec(tmp_path: Path, out: Path) -> SessionSpec:
    script = tmp_path / "asker.py"
    script.write_text(ASKER)
    return SessionSpec("q", [sys.executable, str(script), str(out)], str(tmp_path),
                       dict(os.environ), cols=100, rows=30)


@pytest.mark.parametrize("backend", backends())
def test_every_query_gets_its_exact_answer(tmp_path: Path, backend: str) -> None:
    out = tmp_path / "answers.json"
    host = LocalHost(backend=backend)
    try:
        host.spawn(spec(tmp_path, out))
        wait(out.exists, "the asker's answers")
        # pyte does not follow the kitty keyboard protocol: it must not claim it
        kitty = {"kitty": "\x1b[?62;22c"} if backend == "pyte" else {}
        assert json.loads(out.read_text()) == {**WANT, **kitty}
    finally:
        host.close()


def test_the_daemon_answers_with_no_dashboard_attached(tmp_path: Path) -> None:
    state, out = tmp_path / "state", tmp_path / "answers.json"
    host = lifecycle.ensure(state, None)
    try:
        host.spawn(spec(tmp_path, out))
        host.close()  # detached: nobody watches, the daemon still answers
        wait(out.exists, "the asker's answers")
        assert json.loads(out.read_text()) == WANT
    finally:
        lifecycle.stop(state)


def test_agents_get_a_clean_true_colour_terminal() -> None:
    env = terminal_environment({"TMUX": "/tmp/tmux-0/default,1,0", "TMUX_PANE": "%1",
                                "KITTY_WINDOW_ID": "3", "TERM": "screen", "PATH": "/bin",
                                "COLUMNS": "80"})
    assert env == {"PATH": "/bin", "TERM": "xterm-256color", "COLORTERM": "truecolor",
                   "TERM_PROGRAM": "agentdeck", "TERM_PROGRAM_VERSION": __version__}


# draws a prompt inside a synchronized update in two halves: the first half (the question, no
# answer keys yet) stays open until the test creates a file, then the frame completes
HALF_FRAME = r"""
import os, sys, time
go = sys.argv[1]
os.write(1, b"ready\r\n")
while not os.path.exists(go + ".start"):
    time.sleep(0.01)
os.write(1, b"\x1b[?2026h\x1b[2J\x1b[HDo you want to proceed?\r\n\xe2\x9d\xaf 1. Yes\r\n")
while not os.path.exists(go):
    time.sleep(0.01)
os.write(1, b"  2. No\r\n\x1b[?2026l")
time.sleep(60)
"""


@pytest.mark.parametrize("backend", backends())
def test_a_half_drawn_synchronized_frame_is_never_shown_or_read(tmp_path: Path,
                                                                backend: str) -> None:
    script, go = tmp_path / "half.py", tmp_path / "go"
    script.write_text(HALF_FRAME)
    host = LocalHost(backend=backend, sync_timeout=600)  # the test, not a timer, ends the frame
    try:
        host.spawn(SessionSpec("h", [sys.executable, str(script), str(go)], str(tmp_path),
                               dict(os.environ), agent="generic", cols=80, rows=24))
        view = host.terminal("h")
        wait(lambda: "ready" in "\n".join(host.snapshot("h")), "the program to start")
        before, detection = view.version, host.info("h").detection
        (tmp_path / "go.start").touch()
        # the half frame is in the emulator...
        wait(lambda: "1. Yes" in "\n".join(host.snapshot("h")), "the half frame to be parsed")
        # ...but no pane redraws it and no detector reads it
        assert view.frame_open and view.version == before
        assert host.redetect("h") == detection and host.info("h").detection == detection
        go.touch()
        wait(lambda: host.info("h").detection.prompt is not None, "the whole frame's prompt")
        assert view.version > before and not view.frame_open
        assert host.info("h").detection.prompt.summary == "Do you want to proceed?"
    finally:
        host.close()


def test_with_a_dashboard_attached_each_query_is_answered_once(tmp_path: Path) -> None:
    # the attached client mirrors the screen but never answers: an answer sent twice would be
    # read as the start of the next answer
    state, out = tmp_path / "state", tmp_path / "answers.json"
    host = lifecycle.ensure(state, None)
    try:
        host.spawn(spec(tmp_path, out))  # spawning attaches this client's mirror at once
        with host.attach("q"):
            pass
        wait(out.exists, "the asker's answers")
        assert json.loads(out.read_text()) == WANT
        wait(lambda: "done" in "\n".join(host.snapshot("q")), "the asker done")
    finally:
        host.close()
        lifecycle.stop(state)
