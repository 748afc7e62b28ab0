"""Snapshots of the dashboard: three agents with fixed screens, one of them waiting on a prompt,
at each window size the layout is designed for and in each shipped theme; and the help and spawn
screens at 80x24.

A correct screenshot shows the approvals box with one bash entry from `ask` and its waiting
count at every size; from 110 columns the agent table (lead ★ idle, two workers) beside a grid
of panes whose borders show in every theme, the waiting pane's heavy, each pane's text at its top
and its border saying the agent's size and the rows it hides below; below 110, a strip of agents
above the queue and the waiting agent's pane (its request is the highlighted one); the footer
ends with `? help` and `q quit`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agentdeck.core.deck import Deck
from agentdeck.core.engine.engine import Engine
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.ui.app import AgentdeckApp
from agentdeck.ui.screens.help import HelpScreen
from agentdeck.ui.screens.spawn import SpawnDialog
from agentdeck.ui.widgets.terminal_pane import TerminalPane
from tests.conftest import make_repo, steady_cursors, until, write_fleet

STILL = "import sys; sys.stdout.write({text!r}); sys.stdout.flush(); input()"
FLEET = """\
version: 1
base: origin/main
worktrees: ../{{repo}}-{{name}}
commands:
  calm: "{py} {calm}"
  ask: "{py} {ask}"
defaults: {{agent: calm, ports: {{start: 27311}}}}
agents:
  - {{name: lead, role: lead, branch: main}}
  - {{name: docs, branch: feat/docs}}
  - {{name: tests, branch: feat/tests, agent: ask}}
"""


@pytest.fixture
def still_deck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    repo = make_repo(tmp_path)
    calm, ask = tmp_path / "calm.py", tmp_path / "ask.py"
    calm.write_text(STILL.format(text="\x1b[32m✓\x1b[0m all \x1b[1mdone\x1b[0m\r\n$ "))
    ask.write_text(STILL.format(text="running suite\r\n\x1b[33mRun npm test? [y/n]\x1b[0m "))
    write_fleet(repo, FLEET.format(py=sys.executable, calm=calm, ask=ask))
    monkeypatch.chdir(repo)
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    deck = Deck.open(ctx, fleet, clock=lambda: 0.0)  # ages are wall-clock: frozen at "0s"
    yield deck
    deck.close()


SIZES = [(80, 24), (100, 30), (120, 40), (160, 45), (200, 50), (300, 80)]
THEMES = ["agentdeck-dark", "agentdeck-light", "agentdeck-high-contrast"]


def summary_measured(app: AgentdeckApp, summary: str) -> bool:
    """The approvals table has measured its row: a DataTable sizes its columns to new rows
    when it is next idle, and a picture taken before drew the summary column as narrow as its
    header (fresh CI, twice)."""
    from textual.widgets import DataTable

    table = app.query_one("#approval-table", DataTable)
    column = next((c for c in table.columns.values() if c.key.value == "summary"), None)
    # (and nothing left for its next idle: a cell updated or a row added measures then)
    return (column is not None and column.content_width >= len(summary)
            and not table._require_update_dimensions and not table._updated_cells)


def settled(app: AgentdeckApp, deck: Deck):  # type: ignore[no-untyped-def]
    def drawn() -> bool:
        states = {app.dashboard.rows[n].state for n in app.dashboard.rows}
        panes = list(app.query(TerminalPane))
        pending = [(e.id, e.summary) for e in deck.queue.pending()]
        # (the queue's entry in the dashboard's own state too: the approvals table is laid out
        # from it, and a picture taken between the two had its summary column narrower)
        # (the panes shown: one the layout hides reads nothing until it shows, and it may
        # have read its agent's screen, then hidden, before the agent printed: under load)
        return (states == {"idle", "waiting"} and len(pending) == 1
                and [(e.id, e.summary) for e in app.dashboard.approvals] == pending
                and summary_measured(app, pending[0][1])
                and all(p._seen == deck.host.terminal(p.agent).version for p in panes
                        if p._shown()))

    async def settle(pilot) -> None:  # type: ignore[no-untyped-def]
        await until(pilot, drawn, timeout=30)  # fails the test when it does not settle
        await steady_cursors(pilot)
        # once more, last: the approvals table may be laid out anew meanwhile (its columns
        # back to their headers' width until it is next idle: a picture taken then had its
        # summary column narrower, fresh CI once)
        await until(pilot, drawn, timeout=30)

    return settle


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_dashboard_snapshot(still_deck, snap_compare, size, theme) -> None:
    app = AgentdeckApp(still_deck, theme=theme)
    assert snap_compare(app, terminal_size=size, run_before=settled(app, still_deck))


@pytest.mark.parametrize(("key", "screen"), [("question_mark", HelpScreen), ("s", SpawnDialog)],
                         ids=["help", "spawn"])
def test_screen_snapshot(still_deck, snap_compare, key, screen) -> None:
    """The help screen and the spawn dialog at 80x24, over the dashboard."""
    app = AgentdeckApp(still_deck)
    settle = settled(app, still_deck)

    async def open_it(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot)
        await pilot.press(key)
        await until(pilot, lambda: isinstance(app.screen, screen))
        await steady_cursors(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_it)
