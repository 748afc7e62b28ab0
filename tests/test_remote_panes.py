"""A remote agent's pane after its host's ssh link dropped and came back (issue 30, item 5): it
shows the host's screen as it is now at once — not the screen from before the drop until the
agent happens to print again (an agent waiting at a prompt prints nothing)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentdeck.commands.context import attach_deck
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.daemon import lifecycle
from agentdeck.daemon.client import RemoteQueue
from agentdeck.ui.app import AgentdeckApp
from tests.conftest import requires, run_agentdeck, until, wait
from tests.sshd import SshServer, sshd_available
from tests.test_pane_views import shown_text
from tests.test_remote_hosts import sshd, two_hosts  # noqa: F401  (the fixture)


@pytest.fixture(autouse=True)
def _needs_sshd() -> None:
    requires("an sshd", sshd_available())


async def test_a_remote_pane_shows_the_hosts_screen_at_once_after_a_reconnect(
        tmp_path: Path, sshd: SshServer) -> None:  # noqa: F811
    here, there = two_hosts(tmp_path, sshd)
    made = await asyncio.to_thread(run_agentdeck, "up", "--no-start", "r1", cwd=here)
    assert made.code == 0, made.err
    ctx, fleet = open_repo(here), load_fleet(here / "agentdeck.yaml")
    deck = attach_deck(ctx, fleet)
    app = AgentdeckApp(deck)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: "r1" in app.dashboard.panes and "git log --oneline -3" in
                        shown_text(app.dashboard.panes["r1"]), timeout=60)
            link = deck.host.hosts["box1"]  # type: ignore[attr-defined]
            # the connection drops, and box1 stays out of reach while it is away (ssh cannot
            # read its configuration); its agents go on there
            config = Path(sshd.config)
            config.rename(config.with_suffix(".away"))
            sshd.kill_connections()
            await until(pilot, lambda: not link.connected, timeout=30)

            # there, meanwhile, r1's prompt is answered and it asks its next question
            theirs = lifecycle.connect(open_repo(there).state_dir)
            assert theirs is not None
            queue = RemoteQueue(theirs)
            try:
                [asked] = [e for e in queue.pending() if e.agent == "r1"]
                queue.answer(asked.id, "allow")

                def next_prompt() -> str:
                    entry = next((e for e in queue.pending() if e.agent == "r1"), None)
                    return entry.summary if entry is not None and entry.id != asked.id else ""

                await asyncio.to_thread(wait, next_prompt, "r1's next prompt there", 30)
                summary = next_prompt()
            finally:
                theirs.close()
            assert summary not in shown_text(app.dashboard.panes["r1"])  # (not seen from here yet)

            config.with_suffix(".away").rename(config)  # box1 answers again
            await until(pilot, lambda: link.connected, timeout=60)
            # r1 waits at that prompt, printing nothing: its pane shows it all the same
            await until(pilot, lambda: summary in shown_text(app.dashboard.panes["r1"]), timeout=10)
    finally:
        deck.close()
