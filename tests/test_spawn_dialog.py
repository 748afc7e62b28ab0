"""The spawn dialog, driven with Pilot: checked as you type, cancel makes nothing, a failing
step rolls back, success makes worktree + env + port, writes the fleet file (comments kept),
adds a pane and starts the agent in it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Label, RichLog, Select

from agentdeck.core.deck import Deck
from agentdeck.core.engine.engine import Engine
from agentdeck.core.fleet.registry import Registry
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.ui.app import AgentdeckApp
from agentdeck.ui.screens.spawn import SpawnDialog
from agentdeck.ui.widgets.terminal_pane import TerminalPane
from tests.conftest import git, make_repo, until, write_fleet

IDLE = "import time\nprint('ready> ', flush=True)\ntime.sleep(600)\n"


@pytest.fixture
def deck(tmp_path: Path):
    repo = make_repo(tmp_path)
    idle = tmp_path / "idle.py"
    idle.write_text(IDLE)
    write_fleet(repo, f"""version: 1
# the team (this comment must survive the dialog)
base: origin/main
worktrees: ../wt-{{name}}
commands:
  idle: "{sys.executable} {idle}"
defaults:
  agent: idle
  setup: ["echo installed > .installed"]
  ports: {{start: 47411, vars: [PORT]}}
  database: {{mode: postgres-db, url: "postgresql://postgres@127.0.0.1:1/app"}}
agents:
  # the lead works in the main worktree
  - {{name: lead, role: lead, branch: main, database: {{mode: none}}}}
""")
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    d = Deck.open(ctx, fleet)
    yield d
    d.close()


def check(app: AgentdeckApp, field: str) -> str:
    return str(app.screen.query_one(f"#{field}-check", Label).render())


async def open_dialog(app: AgentdeckApp, pilot) -> SpawnDialog:  # type: ignore[no-untyped-def]
    await pilot.press("s")
    await until(pilot, lambda: isinstance(app.screen, SpawnDialog))
    return app.screen  # type: ignore[return-value]


async def test_typing_is_checked_and_cancel_makes_nothing(deck: Deck) -> None:
    app = AgentdeckApp(deck)
    before = set(Registry(deck.ctx.state_dir).load().agents)
    async with app.run_test(size=(160, 50)) as pilot:
        dialog = await open_dialog(app, pilot)
        await pilot.press(*"bad name")
        await until(pilot, lambda: "letters, digits" in check(app, "name"))
        assert dialog.query_one("#create", Button).disabled
        dialog.query_one("#name", Input).value = "search"
        await until(pilot, lambda: check(app, "branch") == "new branch")
        assert dialog.query_one("#branch", Input).value == "feat/search"  # suggested
        dialog.query_one("#branch", Input).value = "main"
        await until(pilot, lambda: "checked out in" in check(app, "branch"))
        assert dialog.query_one("#create", Button).disabled
        dialog.query_one("#base", Input).value = "origin/nope"
        await until(pilot, lambda: "no such ref" in check(app, "base"))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SpawnDialog))
    assert set(Registry(deck.ctx.state_dir).load().agents) == before
    assert not (deck.ctx.main_root.parent / "wt-search").exists()


async def test_a_failing_step_rolls_back_and_the_dialog_says_so(deck: Deck) -> None:
    app = AgentdeckApp(deck)
    async with app.run_test(size=(160, 50)) as pilot:
        dialog = await open_dialog(app, pilot)
        dialog.query_one("#name", Input).value = "broken"
        await until(pilot, lambda: not dialog.query_one("#create", Button).disabled)
        await pilot.press("ctrl+s")  # the fleet's database server is down (port 1)
        log = dialog.query_one("#progress", RichLog)
        await until(pilot, lambda: any("failed" in str(line) for line in log.lines), 60)
        assert isinstance(app.screen, SpawnDialog)  # still open, to fix and retry
    assert "broken" not in Registry(deck.ctx.state_dir).load().agents
    assert not (deck.ctx.main_root.parent / "wt-broken").exists()
    assert "feat/broken" not in git(deck.ctx.main_root, "branch", "--list")


async def test_success_adds_a_started_pane_and_writes_the_fleet_file(deck: Deck) -> None:
    app = AgentdeckApp(deck)
    fleet_file = deck.fleet.path
    assert fleet_file is not None
    async with app.run_test(size=(160, 50)) as pilot:
        dialog = await open_dialog(app, pilot)
        dialog.query_one("#name", Input).value = "search"
        dialog.query_one("#database", Select).value = "none"
        await until(pilot, lambda: not dialog.query_one("#create", Button).disabled)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, SpawnDialog), 60)
        await until(pilot, lambda: bool(app.query("#pane-search")))
        pane = app.query_one("#pane-search", TerminalPane)
        await until(pilot, lambda: "search" in {i.name for i in deck.host.sessions()})
        await until(pilot, lambda: "ready>" in "\n".join(deck.host.snapshot("search")))
        # selected, not typed into: the keyboard stays on the dashboard
        assert not isinstance(app.focused, TerminalPane) and pane.has_class("-selected")
    worktree = deck.ctx.main_root.parent / "wt-search"
    assert (worktree / ".installed").exists()  # the install step ran
    assert "PORT=" in (worktree / ".env.local").read_text()
    rec = Registry(deck.ctx.state_dir).load().agents["search"]
    assert rec.branch == "feat/search" and rec.port_numbers
    text = fleet_file.read_text()
    assert "# the team (this comment must survive the dialog)" in text
    assert "  # the lead works in the main worktree" in text
    assert load_fleet(fleet_file).agent("search") is not None


async def test_a_fanout_from_the_dialog_makes_candidates_of_one_group(deck: Deck) -> None:
    """`fanout` N in the dialog: NAME-1 … NAME-N on the same task, each on its own branch,
    written to the fleet file, started in panes of their own, and a group `compare` knows."""
    from textual.widgets import TextArea

    from agentdeck.core.engine.candidates import Groups

    app = AgentdeckApp(deck)
    fleet_file = deck.fleet.path
    assert fleet_file is not None
    async with app.run_test(size=(160, 50)) as pilot:
        dialog = await open_dialog(app, pilot)
        dialog.query_one("#name", Input).value = "pick"
        dialog.query_one("#database", Select).value = "none"
        dialog.query_one("#task", TextArea).text = "make the search faster"
        dialog.query_one("#fanout", Input).value = "11"
        await until(pilot, lambda: "1 to 10" in check(app, "fanout"))
        assert dialog.query_one("#create", Button).disabled
        dialog.query_one("#fanout", Input).value = "2"
        await until(pilot, lambda: "pick-1 … pick-2" in check(app, "fanout").replace(
            "NAME", "pick"))
        await until(pilot, lambda: not dialog.query_one("#create", Button).disabled)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, SpawnDialog), 60)
        await until(pilot, lambda: bool(app.query("#pane-pick-1")) and bool(
            app.query("#pane-pick-2")))
        await until(pilot, lambda: {"pick-1", "pick-2"} <= {i.name for i in
                                                            deck.host.sessions()})
    agents = Registry(deck.ctx.state_dir).load().agents
    assert (agents["pick-1"].branch, agents["pick-2"].branch) == ("agentdeck/pick-1",
                                                                  "agentdeck/pick-2")
    assert agents["pick-2"].task == "make the search faster"
    assert Groups(deck.ctx.state_dir).load()["pick"].agents == ["pick-1", "pick-2"]
    fleet = load_fleet(fleet_file)
    assert fleet.agent("pick-1") is not None and fleet.agent("pick-2") is not None
