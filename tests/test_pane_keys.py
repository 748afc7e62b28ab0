"""Keys as the agent asked for them: an agent that turns on the kitty keyboard protocol gets
shift+enter, ctrl+enter and Esc as keys of their own, one that asks for focus events learns
when the user starts and stops typing into its pane, the window title it sets shows in its
pane's border and its hyperlinks stay links — through the real dashboard, in a real PTY."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from agentdeck.core.deck import Deck
from agentdeck.core.engine.engine import Engine
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.core.screen.keys import encode_key
from agentdeck.ui.app import AgentdeckApp
from agentdeck.ui.widgets.terminal_pane import TerminalPane
from tests.conftest import make_repo, write_fleet

# turns on kitty flags 1 (disambiguate) and focus events, sets its title, then logs every byte
KEYS = r"""
import os, sys, tty
tty.setraw(0)
os.write(1, b"\x1b[>1u\x1b[?1004h\x1b]2;building auth\x07ready, "
            b"\x1b]8;;https://example.com/pr/7\x1b\\PR 7\x1b]8;;\x1b\\\r\n")
with open(sys.argv[1], "ab", buffering=0) as log:
    while True:
        log.write(os.read(0, 64))
"""


@pytest.fixture
def keyed(tmp_path: Path):
    repo = make_repo(tmp_path)
    program = tmp_path / "keys.py"
    program.write_text(KEYS)
    log = tmp_path / "keys.log"
    write_fleet(repo, f"""version: 1
base: origin/main
worktrees: ../wt-{{name}}
commands: {{keys: "{sys.executable} {program} {log}"}}
agents: [{{name: w, branch: feat/w, agent: keys}}]
""")
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    deck = Deck.open(ctx, fleet)
    yield deck, log
    deck.close()


async def until(pilot, condition, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


async def test_kitty_keys_focus_events_and_title_reach_and_leave_the_agent(keyed) -> None:
    deck, log = keyed
    app = AgentdeckApp(deck)
    async with app.run_test(size=(150, 40)) as pilot:
        await until(pilot, lambda: any(i.name == "w" for i in deck.host.sessions()) and (
            "ready" in "\n".join(deck.host.snapshot("w"))), "the agent")
        pane = app.query_one("#pane-w", TerminalPane)
        await until(pilot, lambda: "building auth" in str(pane.border_subtitle), "its title")
        links = {seg.style.link for y in range(pane.size.height)
                 for seg in pane.render_line(y) if seg.style and seg.style.link}
        assert links == {"https://example.com/pr/7"}
        await pilot.press("i")  # typing mode: the agent's terminal has the focus
        await pilot.press("shift+enter", "ctrl+enter", "escape", "x")
        await pilot.press("ctrl+right_square_bracket")  # the release key: focus leaves
        want = b"\x1b[I\x1b[13;2u\x1b[13;5u\x1b[27ux\x1b[O"
        await until(pilot, lambda: log.exists() and log.read_bytes() == want, "the keys")


@pytest.mark.parametrize(("key", "char", "flags", "expected"), [
    ("shift+enter", None, 0, b"\r"),  # legacy terminals send Enter
    ("alt+enter", None, 0, b"\x1b\r"),
    ("shift+enter", None, 1, b"\x1b[13;2u"),
    ("ctrl+enter", None, 1, b"\x1b[13;5u"),
    ("enter", "\r", 1, b"\r"),  # unmodified Enter, Tab and Backspace stay legacy
    ("escape", "\x1b", 1, b"\x1b[27u"),
    ("a", "a", 1, b"a"),  # text stays text
    ("A", "A", 1, b"A"),
    ("ctrl+a", "\x01", 1, b"\x1b[97;5u"),
    ("alt+x", "x", 1, b"\x1b[120;3u"),
    ("up", None, 1, b"\x1b[A"),  # arrows keep their legacy form
    ("a", "a", 8, b"\x1b[97u"),  # every key as an escape code
    ("A", "A", 8, b"\x1b[97;2u"),
    ("enter", "\r", 8, b"\x1b[13u"),
    ("a", "a", 8 | 16, b"\x1b[97;1;97u"),  # with its text
])
def test_kitty_protocol_encoding(key: str, char: str | None, flags: int,
                                 expected: bytes) -> None:
    assert encode_key(key, char, False, flags) == expected
