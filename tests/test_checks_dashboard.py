"""Checks in the dashboard: an agent's commit is judged without being asked (the radar's change
events drive the Checker), its chips show in the sidebar, and `f` hands the failing check's
output to the agent — held while its prompt waits, arriving as its next message once the
prompt is answered."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from textual.widgets import Static

from agentdeck.core.deck import Deck
from agentdeck.core.engine.check_results import CheckStore
from agentdeck.core.engine.engine import Engine
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.ui.app import AgentdeckApp
from agentdeck.ui.screens.dashboard import DashboardScreen
from agentdeck.ui.screens.review import ReviewScreen
from agentdeck.ui.widgets.agent_list import AgentDetail, AgentList
from tests.conftest import make_repo, write_fleet
from tests.conftest import until as _until
from tests.test_checks import BAD, CHECK_ADD
from tests.test_messages import ASKS_FIRST, reads

until = functools.partial(_until, timeout=30.0)

# commits its (wrong) work, then asks a question in raw mode like a CLI's menu, then takes
# messages, logging every read (test_messages' agent after the commit): argv log, work
COMMITS_THEN_ASKS = r"""
import os, subprocess, sys
os.makedirs("src", exist_ok=True)
with open("src/calc.py", "w") as fh:
    fh.write(open(sys.argv[2]).read())
subprocess.run(["git", "add", "src/calc.py"], check=True)
subprocess.run(["git", "commit", "-qm", "add()"], check=True)
""" + ASKS_FIRST


async def test_a_commit_is_checked_and_f_hands_the_failure_to_the_agent(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, files={"check_add.py": CHECK_ADD})
    agent, log = tmp_path / "commits.py", tmp_path / "ops.jsonl"
    agent.write_text(COMMITS_THEN_ASKS)
    (tmp_path / "bad.txt").write_text(BAD)
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands: {{asks: "{sys.executable} {agent} {log} {tmp_path / 'bad.txt'}"}}
checks:
  - {{name: tests, run: "{sys.executable} -B check_add.py"}}
agents: [{{name: ops, agent: asks, branch: feat/ops}}]
""")
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    deck = Deck.open(ctx, fleet)
    store = CheckStore(ctx.state_dir)
    try:
        app = AgentdeckApp(deck)
        async with app.run_test(size=(160, 45)) as pilot:
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            # judged without being asked: the agent committed, the checks ran
            await until(pilot, lambda: store.of("ops").get("tests") is not None
                        and store.of("ops")["tests"].status == "fail")
            assert "gave -1" in store.of("ops")["tests"].output_tail
            await until(pilot, lambda: screen.rows["ops"].checks == "✖tests")
            assert "checks" in app.query_one(AgentList).shown
            assert "✖tests" in str(app.query_one(AgentDetail).render())

            agents = app.query_one(AgentList)
            agents.focus()
            agents.move_cursor(row=agents.get_row_index("ops"))
            await pilot.press("r")  # the review screen says them too
            await until(pilot, lambda: isinstance(app.screen, ReviewScreen)
                        and "checks ✖tests" in str(app.screen.query_one("#review-head",
                                                                         Static).render()))
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen)

            await until(pilot, lambda: deck.queue.pending())  # its prompt waits
            agents.focus()
            agents.move_cursor(row=agents.get_row_index("ops"))
            await pilot.press("f")
            await until(pilot, lambda: deck.outbox.held("ops") == 1)
            assert reads(log) == []  # nothing typed into its menu
            await pilot.press("y")
            await until(pilot, lambda: reads(log)[-1:] == ["\r"] and len(reads(log)) >= 3)
            answer, message, enter = reads(log)[:3]
            assert (answer, enter) == ("y\r", "\r")
            assert 'The check "tests"' in message and "gave -1" in message
            assert deck.outbox.held("ops") == 0
    finally:
        deck.close()
