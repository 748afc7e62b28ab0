"""Messages to agents (m, M): the text arrives whole and is submitted by an Enter of its own,
bracketed as a paste when the agent asked for bracketed paste; a broadcast reaches each marked
agent."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import pytest

from agentdeck.core.config import load_fleet
from agentdeck.core.deck import Deck
from agentdeck.core.fleet import Engine
from agentdeck.core.messages import PASTE_END, PASTE_START, delivery
from agentdeck.core.repo import open_repo
from agentdeck.ui.app import AgentdeckApp
from agentdeck.ui.widgets.agent_list import AgentList
from tests.conftest import make_repo, write_fleet
from tests.conftest import until as _until

# reads its terminal raw, as Ink does, and logs each read: a CR glued to the text would be
# part of a paste, not a submit
INK_LIKE = r"""
import json, os, sys, tty
tty.setraw(0)
if sys.argv[2] == "paste":
    os.write(1, b"\x1b[?2004h")
os.write(1, b"> ")
while True:
    data = os.read(0, 4096)
    with open(sys.argv[1], "a") as fh:
        fh.write(json.dumps(data.decode()) + "\n")
"""


def test_delivery_plans() -> None:
    plan = delivery("claude", "fix the login\nthen run the tests\n", bracketed_paste=True)
    assert [w for w, _ in plan.writes] == [
        PASTE_START + b"fix the login\rthen run the tests" + PASTE_END, b"\r"]
    assert plan.writes[0][1] > 0  # a pause before the Enter
    flat = delivery("codex", "one\n two ", bracketed_paste=False)
    assert [w for w, _ in flat.writes] == [b"one two", b"\r"]
    assert [w for w, _ in delivery("shell", "ls\npwd", False).writes] == [b"ls\rpwd\r"]
    assert delivery("aider", "  \n", True).writes == ()


@pytest.fixture
def inky(tmp_path: Path):
    repo = make_repo(tmp_path)
    agent = tmp_path / "ink_like.py"
    agent.write_text(INK_LIKE)
    logs = {n: tmp_path / f"{n}.jsonl" for n in ("pasty", "plain", "other")}
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands:
  pasty: "{sys.executable} {agent} {logs['pasty']} paste"
  plain: "{sys.executable} {agent} {logs['plain']} plain"
  other: "{sys.executable} {agent} {logs['other']} paste"
agents:
  - {{name: pasty, agent: pasty, branch: feat/pasty}}
  - {{name: plain, agent: plain, branch: feat/plain}}
  - {{name: other, agent: other, branch: feat/other}}
""")
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    deck = Deck.open(ctx, fleet)
    yield deck, logs
    deck.close()


until = functools.partial(_until, timeout=15.0)


def reads(path: Path) -> list[str]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


async def test_m_types_a_message_and_submits_it_separately(inky) -> None:
    deck, logs = inky
    app = AgentdeckApp(deck)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: all(deck.host.info(n).process == "running"
                                       for n in ("pasty", "plain")) if len(
            deck.host.sessions()) == 3 else False)
        await until(pilot, lambda: ">" in "".join(deck.host.snapshot("pasty")))
        agents = app.query_one(AgentList)
        agents.focus()
        agents.move_cursor(row=agents.get_row_index("pasty"))
        await pilot.press("m")
        await pilot.pause()
        await pilot.press(*"add tests", "enter", *"then commit")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(reads(logs["pasty"])) >= 2)
        assert reads(logs["pasty"]) == ["\x1b[200~add tests\rthen commit\x1b[201~", "\r"]

        agents.move_cursor(row=agents.get_row_index("plain"))
        await pilot.press("m", *"hello", "enter", *"there", "ctrl+s")
        await until(pilot, lambda: len(reads(logs["plain"])) >= 2)
        assert reads(logs["plain"]) == ["hello there", "\r"]


async def test_M_broadcasts_to_the_marked_agents(inky) -> None:
    deck, logs = inky
    app = AgentdeckApp(deck)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: sum(i.process == "running"
                                       for i in deck.host.sessions()) == 3)
        await until(pilot, lambda: ">" in "".join(deck.host.snapshot("plain")))
        agents = app.query_one(AgentList)
        agents.focus()
        for name in ("pasty", "plain"):
            agents.move_cursor(row=agents.get_row_index(name))
            await pilot.press("space")
        assert agents.marked == {"pasty", "plain"}
        await pilot.press("M", *"rebase on main", "ctrl+s")
        await until(pilot, lambda: len(reads(logs["plain"])) >= 2
                    and len(reads(logs["pasty"])) >= 2)
        assert reads(logs["plain"]) == ["rebase on main", "\r"]
        assert reads(logs["pasty"]) == ["rebase on main", "\r"]
        assert not (logs["other"]).exists()  # not marked: nothing sent
