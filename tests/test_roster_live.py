"""The session host owns the agent list and the lead's roster: an agent made or removed from
another terminal (`agentdeck spawn`, `agentdeck rm`) shows in an open dashboard and in the
roster file without anyone touching the dashboard."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agentdeck.core.agents import briefs
from agentdeck.core.deck import Deck
from agentdeck.core.engine.engine import Engine
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.daemon import lifecycle
from agentdeck.daemon.client import RemoteQueue
from agentdeck.ui.app import AgentdeckApp
from tests.conftest import run_agentdeck, scripted_fleet, until

# an agent that reads its messages a line at a time, logging each, and says it is ready again
IDLE = """import os, sys
log = open(sys.argv[1] + "." + os.environ["AGENTDECK_AGENT"], "a")
while True:
    print("> ready", flush=True)
    line = sys.stdin.readline()
    if not line:
        break
    log.write(line)
    log.flush()
"""


async def test_agents_spawned_and_removed_elsewhere_show_in_the_dashboard_and_roster(
        tmp_path: Path) -> None:
    repo = scripted_fleet(tmp_path, "idle", IDLE, """defaults: {agent: idle}
agents:
  - {name: boss, role: lead, branch: main}
  - {name: w1, branch: feat/w1, task: first job}
approvals: {hooks: false}
""", args=str(tmp_path / "got"))
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    roster = briefs.roster_path(ctx.state_dir)
    host = lifecycle.ensure(ctx.state_dir, fleet.path)
    deck = Deck.attach(ctx, fleet, host, RemoteQueue(host))
    app = AgentdeckApp(deck)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: {i.name for i in deck.host.sessions()} == {"boss", "w1"})
            await until(pilot, lambda: roster.exists() and "| w1 |" in roster.read_text())
            made = await asyncio.to_thread(run_agentdeck, "spawn", "w2", "--task", "second job",
                                           cwd=repo)
            assert made.code == 0, made.err
            assert "agents not started" not in made.out
            # the CLI typed its task before it ended (it waited for the agent to be ready),
            # submitted once: a line after it arrives next, with no empty line between
            got = tmp_path / "got.w2"
            await until(pilot, lambda: any(i.name == "w2" for i in deck.host.sessions()))
            deck.host.write("w2", b"marker\r")
            await until(pilot, lambda: got.exists() and "marker" in got.read_text())
            assert got.read_text() == "second job\nmarker\n"
            # the dashboard shows it, running (the CLI started it in the session host) ...
            await until(pilot, lambda: "w2" in app.dashboard.rows and bool(app.query("#pane-w2")))
            await until(pilot, lambda: any(i.name == "w2" and i.process == "running"
                                           for i in deck.host.sessions()))
            # ... and the lead's roster lists it, with its task
            await until(pilot, lambda: "| w2 | agentdeck/w2 |" in roster.read_text())
            assert "second job" in roster.read_text()
            gone = await asyncio.to_thread(run_agentdeck, "rm", "w2", cwd=repo)
            assert gone.code == 0, gone.err
            await until(pilot, lambda: "w2" not in app.dashboard.rows and not app.query("#pane-w2"))
            await until(pilot, lambda: "| w2 |" not in roster.read_text())
            assert "| w1 |" in roster.read_text() and "w1" in app.dashboard.rows
    finally:
        deck.close()
        lifecycle.stop(ctx.state_dir)
