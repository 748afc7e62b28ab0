"""One source of state (issue 30, item 6): what the CLI does to agents — `rm`, `prune`, `spawn`,
`stop` — on this machine or on a host reaches every open dashboard by itself: the session host
watches its registry and tells the dashboards attached to it, those of other machines through
their ssh link. Two dashboards here: one over this machine's session host and box1's (a real
sshd), one over this machine's only."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agentdeck.commands.context import attach_deck
from agentdeck.core.deck import Deck
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.daemon import lifecycle
from agentdeck.daemon.client import RemoteQueue
from agentdeck.ui.app import AgentdeckApp
from tests.conftest import requires, run_agentdeck
from tests.conftest import until as until_shown
from tests.sshd import SshServer, sshd_available
from tests.test_remote_hosts import sshd, two_hosts  # noqa: F401  (the fixture)


@pytest.fixture(autouse=True)
def _needs_sshd() -> None:
    requires("an sshd", sshd_available())


async def cli(*args: str, cwd: Path) -> str:
    result = await asyncio.to_thread(run_agentdeck, *args, cwd=cwd)
    assert result.code == 0, (args, result.out, result.err)
    return result.out


def shows(app: AgentdeckApp, names: set[str]) -> bool:
    """The dashboard lists exactly these agents, each with its pane (what it shows otherwise
    is kept for the failure's message)."""
    listed = (set(app.dashboard.rows), {p.agent for p in app.dashboard.panes.values()},
              {n for n in names if app.query(f"#pane-{n}")})
    agents = app.dashboard.agents
    SEEN[id(app)] = f"{app.deck.host.__class__.__name__}: rows {sorted(listed[0])}, panes " \
                    f"{sorted(listed[1])}, want {sorted(names)}; registry now " \
                    f"{sorted(r.name for r in app.deck.read_records())}, readings applied " \
                    f"{agents._applied}, stamp {agents._registry_stamp}"
    return listed == (names, names, names)


SEEN: dict[int, str] = {}


async def until(pilot: Any, condition: Callable[[], object]) -> None:
    """conftest's `until`; its failure says what each dashboard listed last."""
    try:
        await until_shown(pilot, condition)
    except AssertionError:
        raise AssertionError("; ".join(SEEN.values())) from None


async def test_cli_changes_here_and_on_a_host_reach_every_open_dashboard(
        tmp_path: Path, sshd: SshServer) -> None:  # noqa: F811
    here, there = two_hosts(tmp_path, sshd)
    assert (await asyncio.to_thread(run_agentdeck, "up", "--no-start", cwd=here)).code == 0
    ctx, fleet = open_repo(here), load_fleet(here / "agentdeck.yaml")
    both = attach_deck(ctx, fleet)  # this machine's session host and box1's, through ssh
    local = lifecycle.connect(ctx.state_dir)
    assert local is not None
    mine = Deck.attach(ctx, fleet, local, RemoteQueue(local))
    everywhere, here_only = AgentdeckApp(both), AgentdeckApp(mine)
    try:
        async with everywhere.run_test(size=(160, 45)) as pilot, here_only.run_test(size=(120, 40)):
            await until(pilot, lambda: shows(everywhere, {"l1", "l2", "r1", "r2"})
                        and shows(here_only, {"l1", "l2"}))
            await until(pilot, lambda: {i.name for i in both.host.sessions()
                                        if i.process == "running"} >= {"l1", "l2"})

            # here: rm, prune (a worktree deleted by hand), spawn, stop
            await cli("rm", "l2", "--force", cwd=here)
            await until(pilot, lambda: shows(everywhere, {"l1", "r1", "r2"})
                        and shows(here_only, {"l1"}))
            shutil.rmtree(here.parent / "app-l1")
            out = await cli("prune", cwd=here)
            assert "l1: removed from" in out  # as `rm` does: the fleet file forgets it too
            assert "name: l1" not in (here / "agentdeck.yaml").read_text()
            await until(pilot, lambda: shows(everywhere, {"r1", "r2"}) and shows(here_only, set()))
            await cli("spawn", "l3", "--branch", "feat/l3", cwd=here)
            await until(pilot, lambda: shows(everywhere, {"l3", "r1", "r2"})
                        and shows(here_only, {"l3"}))
            await until(pilot, lambda: all(
                app.dashboard.rows["l3"].state not in ("stopped", "exited")
                for app in (everywhere, here_only)))
            await cli("stop", "l3", cwd=here)
            await until(pilot, lambda: all(app.dashboard.rows["l3"].state in ("stopped", "exited")
                                           for app in (everywhere, here_only)))

            # box1: rm from here (through ssh), then spawn and prune there, by its own CLI
            await cli("rm", "r2", "--force", cwd=here)
            await until(pilot, lambda: shows(everywhere, {"l3", "r1"}))
            await cli("spawn", "r3", "--branch", "feat/r3", cwd=there)
            await until(pilot, lambda: shows(everywhere, {"l3", "r1", "r3"}))
            shutil.rmtree(there.parent / "box1-app-r1")
            await cli("prune", cwd=there)
            await until(pilot, lambda: shows(everywhere, {"l3", "r3"}))
            assert shows(here_only, {"l3"})  # (box1's agents were never this one's)
    finally:
        both.close()
        mine.close()
