"""A mixed fleet: two ACP agents (tests/acp_agent.py) and two PTY agents (a `[y/n]` script) in one
deck: one queue holds all four's requests, each answer reaches the agent it was for (an ACP
agent gets its option, a PTY agent its key), and the radar sees every agent's work."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from agentdeck.core.agents.acp import sdk_missing
from agentdeck.core.agents.sessions import poll_until
from agentdeck.core.deck import Deck
from agentdeck.core.engine.engine import Engine
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.core.git.review import radar
from tests.conftest import make_repo, requires, write_fleet

ASK = ("import sys\nsys.stdout.write('Run make build? [y/n] '); sys.stdout.flush()\n"
       "answer = sys.stdin.readline().strip()\nopen('answered.txt', 'w').write(answer)\n"
       "print('got', answer, flush=True)\ninput()\n")
FLEET = """\
version: 1
base: origin/main
worktrees: ../{{repo}}-{{name}}
commands:
  scripted: "{py} {agent}"
  ask: "{py} {ask}"
defaults: {{ports: {{start: 27511}}}}
agents:
  - {{name: acp1, branch: feat/acp1, agent: scripted, channel: acp, task: work}}
  - {{name: acp2, branch: feat/acp2, agent: scripted, channel: acp, task: work}}
  - {{name: pty1, branch: feat/pty1, agent: ask}}
  - {{name: pty2, branch: feat/pty2, agent: ask}}
"""
WAIT = 30.0


def test_one_queue_for_acp_and_pty_agents(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    requires("agent-client-protocol", sdk_missing())
    repo = make_repo(tmp_path)
    ask = tmp_path / "ask.py"
    ask.write_text(ASK)
    agent = Path(__file__).resolve().parent / "acp_agent.py"
    write_fleet(repo, FLEET.format(py=sys.executable, agent=agent, ask=ask))
    monkeypatch.chdir(repo)
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    deck = Deck.open(ctx, fleet)
    try:
        deck.start_all(sleep=lambda _s: None)
        queue = deck.queue
        names = {"acp1", "acp2", "pty1", "pty2"}
        assert poll_until(lambda: {e.agent for e in queue.pending()} == names, WAIT), (
            queue.pending(), [(i.name, i.state) for i in deck.host.sessions()])
        kinds = {e.agent: (e.kind, e.summary) for e in queue.pending()}
        assert kinds["acp1"] == kinds["acp2"] == ("bash", "echo ran > ran.txt")
        assert kinds["pty1"] == kinds["pty2"] == ("bash", "Run make build?")
        # answers in an order of their own: each reaches the one it was for
        by_agent = {e.agent: e for e in queue.pending()}
        assert queue.answer(by_agent["pty2"].id, "deny").via == "screen"
        assert queue.answer(by_agent["acp2"].id, "allow").via == "acp"
        assert queue.answer(by_agent["pty1"].id, "allow").via == "screen"
        assert queue.answer(by_agent["acp1"].id, "deny").via == "acp"
        worktree = {r.name: Path(r.worktree) for r in deck.records}
        assert poll_until(lambda: (worktree["pty1"] / "answered.txt").exists()
                          and (worktree["pty2"] / "answered.txt").exists(), WAIT)
        assert (worktree["pty1"] / "answered.txt").read_text() == "y"
        assert (worktree["pty2"] / "answered.txt").read_text() == "n"
        assert poll_until(lambda: (worktree["acp2"] / "ran.txt").exists(), WAIT)
        assert not (worktree["acp1"] / "ran.txt").exists()  # denied
        # their edits come next: the ACP agents' only
        assert poll_until(lambda: {e.agent for e in queue.pending()} == {"acp1", "acp2"}, WAIT)
        for entry in queue.pending():
            queue.answer(entry.id, "allow")
        assert poll_until(lambda: all(deck.host.info(n).state == "idle"
                                      for n in ("acp1", "acp2")), WAIT)
        # the radar reads every agent's worktree, whichever channel drives it
        assert poll_until(lambda: (worktree["acp1"] / "notes.txt").exists(), WAIT)
        pairs = {(p.a, p.b): p.overlap for p in radar(ctx, deck.records).pairs}
        assert "notes.txt" in pairs[("acp1", "acp2")]  # both ACP agents wrote it
        assert "answered.txt" in pairs[("pty1", "pty2")]
    finally:
        deck.close()
