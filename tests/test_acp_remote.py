"""An ACP agent on another host, through a real OpenSSH server (tests/sshd.py): made and started
there by that host's agentdeck, its permission request queued here with its host and answered
once, the audit line in that host's log (`via: acp`), its conversation read over the link."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdeck.commands.context import attach_deck
from agentdeck.core.agents.acp import sdk_missing
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.daemon import lifecycle
from tests.conftest import git, make_repo, requires, run_agentdeck, wait
from tests.sshd import SshServer, sshd_available, start_sshd

AGENT = Path(__file__).resolve().parent / "acp_agent.py"


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    requires("an sshd", sshd_available())
    requires("agent-client-protocol", sdk_missing())
    server = start_sshd(tmp_path / "sshd")
    yield server
    for clone in (tmp_path / "app", tmp_path / "box1-app"):
        if (clone / ".git" / "agentdeck").is_dir():
            lifecycle.stop(open_repo(clone).state_dir)
    server.stop()


def test_an_acp_agent_on_another_host(tmp_path: Path, sshd: SshServer) -> None:
    here = make_repo(tmp_path)
    there = tmp_path / "box1-app"
    git(tmp_path, "clone", "--quiet", str(tmp_path / "app-origin.git"), str(there))
    for clone in (here, there):
        git(clone, "config", "user.email", "t@example.com")
        git(clone, "config", "user.name", "t")
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(AGENT))}"
    (here / "agentdeck.yaml").write_text(f"""\
hosts:
  box1:
    ssh: {sshd.alias}
    repo: {there}
    agentdeck: {shlex.quote(sys.executable)} -m agentdeck
    ssh_options: {json.dumps(sshd.ssh_options())}
commands:
  scripted: {json.dumps(command)}
defaults: {{agent: scripted, channel: acp}}
agents:
  - {{name: r1, task: work, host: box1}}
""")
    up = run_agentdeck("up", "--no-start", cwd=here)
    assert up.code == 0, up.err
    deck = attach_deck(open_repo(here), load_fleet(here / "agentdeck.yaml"))
    try:
        deck.start_all()
        assert deck.notes == []
        wait(lambda: deck.queue.entry_for("r1") is not None, "r1's request, from box1",
             timeout=60)
        entry = deck.queue.entry_for("r1")
        assert entry is not None
        assert (entry.host, entry.kind, entry.summary) == ("box1", "bash", "echo ran > ran.txt")
        deck.queue.answer(entry.id, "allow")
        audit = there / ".git" / "agentdeck" / "audit.jsonl"
        wait(lambda: audit.exists() and '"via": "acp"' in audit.read_text(),
             "the answer in box1's audit log")
        line = json.loads(audit.read_text().splitlines()[0])
        assert (line["agent"], line["decision"], line["tool_call_id"], line["option"]) == (
            "r1", "allow", "call-1", "yes")
        wait(lambda: any(i.get("tool") and i["tool"]["id"] == "call-1"
                         and i["tool"]["status"] == "completed"
                         for i in (deck.host.conversation("r1") or {}).get("items", [])),
             "r1's conversation, read over the link", timeout=60)
    finally:
        deck.close()
