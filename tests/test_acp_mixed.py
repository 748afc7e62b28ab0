"""The mixed fleet of issue 34's acceptance, as one deck through the session host: two ACP agents
(tests/acp_agent.py, the SDK's agent side), two PTY agents (a `[y/n]` script), one ACP agent on
another host through a real OpenSSH server (tests/sshd.py; made and run there by that host's
agentdeck) and one ACP agent sandboxed with real bubblewrap. One queue holds all six's requests;
each answer reaches the agent it was for (an ACP agent gets its option, a PTY agent its key, the
other host's agent its answer over the link, audited in that host's log); the sandboxed agent's
commands run inside its fence; the radar sees every agent's work, whichever channel and host."""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdeck.commands.context import attach_deck
from agentdeck.core.agents import remote
from agentdeck.core.agents.acp import sdk_missing
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.core.git.review import radar
from tests.conftest import git, requires, run_agentdeck, wait
from tests.sshd import SshServer, serving, sshd_available
from tests.test_remote_hosts import clones

AGENT = Path(__file__).resolve().parent / "acp_agent.py"
ASK = ("import sys\nsys.stdout.write('Run make build? [y/n] '); sys.stdout.flush()\n"
       "answer = sys.stdin.readline().strip()\nopen('answered.txt', 'w').write(answer)\n"
       "print('got', answer, flush=True)\ninput()\n")
FENCED = "cat /proc/1/comm > ran.txt"  # in the sandbox's pid namespace, process 1 is bwrap
FLEET = """\
version: 1
base: origin/main
worktrees: ../{{repo}}-{{name}}
hosts:
  box1:
    ssh: {alias}
    repo: {there}
    agentdeck: {py} -m agentdeck
    ssh_options: {ssh_options}
commands:
  scripted: {scripted}
  ask: {ask}
defaults: {{ports: {{start: 27511}}}}
agents:
  - {{name: acp1, branch: feat/acp1, agent: scripted, channel: acp, task: work}}
  - {{name: acp2, branch: feat/acp2, agent: scripted, channel: acp, task: work}}
  - {{name: pty1, branch: feat/pty1, agent: ask}}
  - {{name: pty2, branch: feat/pty2, agent: ask}}
  - {{name: r1, branch: feat/r1, agent: scripted, channel: acp, task: work, host: box1}}
  - name: sb
    branch: feat/sb
    agent: scripted
    channel: acp
    task: work
    sandbox: {{mode: bwrap}}
    env: {{ACP_COMMAND: "{fenced}"}}
"""
WAIT = 60.0
NAMES = {"acp1", "acp2", "pty1", "pty2", "r1", "sb"}


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    requires("agent-client-protocol", sdk_missing())
    requires("an sshd", sshd_available())
    requires("bubblewrap", None if shutil.which("bwrap") else "bwrap is not installed")
    yield from serving(tmp_path)


def test_one_queue_for_acp_pty_remote_and_sandboxed_agents(tmp_path: Path,
                                                           sshd: SshServer) -> None:
    here, there = clones(tmp_path)
    ask = tmp_path / "ask.py"
    ask.write_text(ASK)
    py = shlex.quote(sys.executable)
    (here / "agentdeck.yaml").write_text(FLEET.format(
        alias=sshd.alias, there=there, py=py, ssh_options=json.dumps(sshd.ssh_options()),
        scripted=json.dumps(f"{py} {shlex.quote(str(AGENT))}"),
        ask=json.dumps(f"{py} {shlex.quote(str(ask))}"), fenced=FENCED))
    up = run_agentdeck("up", "--no-start", cwd=here)
    assert up.code == 0, up.err
    ctx, fleet = open_repo(here), load_fleet(here / "agentdeck.yaml")
    deck = attach_deck(ctx, fleet)
    try:
        deck.start_all(sleep=lambda _s: None)
        assert deck.notes == []
        queue = deck.queue
        wait(lambda: {e.agent for e in queue.pending()} == NAMES, "all six agents' requests",
             WAIT)
        pending = {e.agent: e for e in queue.pending()}
        assert {n: (e.kind, e.summary) for n, e in pending.items()} == {
            "acp1": ("bash", "echo ran > ran.txt"), "acp2": ("bash", "echo ran > ran.txt"),
            "pty1": ("bash", "Run make build?"), "pty2": ("bash", "Run make build?"),
            "r1": ("bash", "echo ran > ran.txt"), "sb": ("bash", FENCED)}
        assert pending["r1"].host == "box1"
        # answers in an order of their own: each reaches the one it was for
        for name, decision, via in (("pty2", "deny", "screen"), ("acp2", "allow", "acp"),
                                    ("r1", "allow", "acp"), ("pty1", "allow", "screen"),
                                    ("sb", "allow", "acp"), ("acp1", "deny", "acp")):
            assert queue.answer(pending[name].id, decision).via == via, name
        worktree = {r.name: Path(r.worktree) for r in deck.local_records}
        worktree["r1"] = tmp_path / "box1-app-r1"
        for name, answer in (("pty1", "y"), ("pty2", "n")):
            wait(lambda n=name: (worktree[n] / "answered.txt").exists(), f"{name}'s answer")
            assert (worktree[name] / "answered.txt").read_text() == answer
        for name in ("acp2", "r1", "sb"):
            wait(lambda n=name: (worktree[n] / "ran.txt").exists()
                 and (worktree[n] / "ran.txt").read_text().strip() != "", f"{name}'s command")
        assert (worktree["acp2"] / "ran.txt").read_text() == "ran\n"
        assert (worktree["r1"] / "ran.txt").read_text() == "ran\n"
        assert (worktree["sb"] / "ran.txt").read_text().strip() == "bwrap"  # inside the fence
        assert not (worktree["acp1"] / "ran.txt").exists()  # denied
        # the other host's answer is audited there, with the option its agent got
        audit = there / ".git" / "agentdeck" / "audit.jsonl"
        wait(lambda: audit.exists() and '"via": "acp"' in audit.read_text(),
             "r1's answer in box1's audit log")
        line = json.loads(audit.read_text().splitlines()[0])
        assert (line["agent"], line["decision"], line["tool_call_id"], line["option"]) == (
            "r1", "allow", "call-1", "yes")
        # their edits come next: the ACP agents' only
        acp = {"acp1", "acp2", "r1", "sb"}
        wait(lambda: {e.agent for e in queue.pending()} == acp, "the ACP agents' edits", WAIT)
        for entry in queue.pending():
            assert entry.kind == "write" and entry.summary.endswith("notes.txt (new, +2)")
            queue.answer(entry.id, "allow")
        wait(lambda: all(deck.host.info(n).state == "idle" for n in acp), "ACP agents idle",
             WAIT)
        wait(lambda: any(i.get("tool") and i["tool"]["id"] == "call-2"
                         and i["tool"]["status"] == "completed"
                         for i in (deck.host.conversation("r1") or {}).get("items", [])),
             "r1's conversation, read over the link", WAIT)
        # the radar reads every agent's work: this host's worktrees as they stand, the other
        # host's branch as fetched from there (committed: what it compares)
        git(worktree["r1"], "add", "notes.txt", "ran.txt")
        git(worktree["r1"], "commit", "--quiet", "-m", "r1's work")
        remote.fetch_branches(ctx, fleet, "box1", ["feat/r1"])
        pairs = {frozenset((p.a, p.b)): p.overlap for p in radar(ctx, deck.records).pairs}
        for a, b in (("acp1", "acp2"), ("acp1", "r1"), ("acp2", "sb"), ("r1", "sb")):
            assert "notes.txt" in pairs.get(frozenset((a, b)), []), (a, b, pairs)
        assert "answered.txt" in pairs[frozenset(("pty1", "pty2"))]
    finally:
        deck.close()
