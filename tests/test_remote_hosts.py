"""Agents on another host, through a real OpenSSH server (started by the test as this user, on a
free port, with its own keys): a second clone of the test repository is the "remote" host's.

`up` with two local and two remote agents; a remote agent's prompt queued once, with its host,
and answered; the ssh connection cut while a prompt waits, restored by the link, and the
prompt answered exactly once; `rm` and `merge` of a remote agent; nothing of it listens on a
network port."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from agentdeck.commands.context import attach_deck
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.core.hostlock import daemon_socket
from agentdeck.daemon import lifecycle
from tests.conftest import commit, git, make_repo, requires, run_agentdeck, wait
from tests.sshd import SshServer, serving, sshd_available, start_sshd


@pytest.fixture(autouse=True)
def _needs_sshd() -> None:
    requires("an sshd", sshd_available())

AGENT = (f"{shlex.quote(sys.executable)} -m agentdeck.demo_agents.agent --style claude "
         "--task {task}")


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[SshServer]:
    yield from serving(tmp_path)


def clones(tmp_path: Path) -> tuple[Path, Path]:
    """The user's repository and a clone of its origin standing for box1's."""
    here = make_repo(tmp_path)
    there = tmp_path / "box1-app"
    git(tmp_path, "clone", "--quiet", str(tmp_path / "app-origin.git"), str(there))
    for clone in (here, there):
        git(clone, "config", "user.email", "t@example.com")
        git(clone, "config", "user.name", "t")
    return here, there


def two_hosts(tmp_path: Path, server: SshServer) -> tuple[Path, Path]:
    """The user's clone (two local agents) and another clone standing for box1's (two)."""
    here, there = clones(tmp_path)
    options = json.dumps(server.ssh_options())
    (here / "agentdeck.yaml").write_text(f"""\
hosts:
  box1:
    ssh: {server.alias}
    repo: {there}
    agentdeck: {shlex.quote(sys.executable)} -m agentdeck
    ssh_options: {options}
commands:
  demo: {json.dumps(AGENT)}
defaults:
  agent: demo
  env: {{AGENTDECK_DEMO_SPEED: "0.02", AGENTDECK_DEMO_LOG: {tmp_path}/answers.jsonl}}
agents:
  - {{name: l1, task: local one}}
  - {{name: l2, task: local two}}
  - {{name: r1, task: remote one, host: box1}}
  - {{name: r2, task: remote two, host: box1}}
""")
    return here, there


def audit(repo: Path) -> list[dict[str, str]]:
    path = repo / ".git" / "agentdeck" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_up_answer_reconnect_rm_merge(tmp_path: Path, sshd: SshServer) -> None:
    here, there = two_hosts(tmp_path, sshd)
    up = run_agentdeck("up", "--no-start", cwd=here)
    assert up.code == 0, up.err
    assert "on box1:" in up.out
    mine = json.loads(run_agentdeck("ls", "--json", cwd=here).out)
    assert {(a["name"], a["host"]) for a in mine} == {("l1", "local"), ("l2", "local"),
                                                      ("r1", "box1"), ("r2", "box1")}
    # made where they run: box1's worktrees in box1's clone, none of them here
    assert {Path(a["worktree"]).parent for a in mine if a["host"] == "box1"} == {there.parent}
    assert (there.parent / "box1-app-r1").is_dir() and not (here.parent / "app-r1").exists()

    ctx = open_repo(here)
    deck = attach_deck(ctx, load_fleet(here / "agentdeck.yaml"))
    try:
        assert {r.name: r.host for r in deck.records} == {"l1": "", "l2": "", "r1": "box1",
                                                          "r2": "box1"}
        deck.start_all()
        assert deck.notes == []
        wait(lambda: {e.agent for e in deck.queue.pending()} >= {"l1", "r1", "r2"},
             "prompts from both hosts")
        first = [e for e in deck.queue.pending() if e.agent == "r1"]
        assert len(first) == 1 and first[0].host == "box1" and first[0].kind == "bash"
        deck.queue.answer(first[0].id, "allow")
        wait(lambda: [a["agent"] for a in audit(there)] == ["r1"], "r1's answer in box1's log")
        assert audit(here) == []  # each host's audit log records its own agents' decisions

        # the connection drops while r2's prompt waits: shown as disconnected, then back
        waiting = next(e for e in deck.queue.pending() if e.agent == "r2")
        link = deck.host.hosts["box1"]  # type: ignore[attr-defined]
        sshd.kill_connections()
        wait(lambda: not link.connected, "the link to notice the drop", timeout=30)
        with pytest.raises(Exception, match="disconnected"):
            deck.queue.answer(waiting.id, "allow")  # refused here: nothing was sent
        wait(lambda: link.connected, "the link to reconnect", timeout=30)
        again = [e for e in deck.queue.pending() if e.agent == "r2"]
        assert [(e.id, e.summary) for e in again] == [(waiting.id, waiting.summary)]
        deck.queue.answer(waiting.id, "allow")
        wait(lambda: [a["agent"] for a in audit(there)] == ["r1", "r2"], "r2's answer")

        def answered() -> list[str]:  # (each agent logs the key it got once it has read it)
            path = tmp_path / "answers.jsonl"
            lines = path.read_text().splitlines() if path.exists() else []
            return sorted(a["agent"] for a in map(json.loads, lines) if a["agent"] in ("r1", "r2"))

        wait(lambda: answered() == ["r1", "r2"], "both remote agents to get their key")
        with pytest.raises(Exception, match=r"no longer waiting|gone"):
            deck.queue.answer(waiting.id, "allow")  # never twice

        # a message to a remote agent waits while its prompt does, then reaches it
        wait(lambda: deck.queue.entry_for("r1") is not None, "r1's next prompt")
        write = deck.queue.entry_for("r1")
        assert write is not None and write.host == "box1"
        assert deck.message("r1", "hello from here") == "held"
        deck.queue.answer(write.id, "allow")
        wait(lambda: any("hello from here" in line for line in deck.host.snapshot("r1")),
             "the message on r1's screen", timeout=30)
    finally:
        deck.close()

    # nothing listens on a network port: not the daemons, not the bridge
    daemons = [lifecycle.pid_of(ctx.state_dir), lifecycle.pid_of(open_repo(there).state_dir)]
    for pid in daemons:
        assert pid is not None
        assert not [c for c in psutil.Process(pid).net_connections("inet")
                    if c.status == psutil.CONN_LISTEN]
    sock = daemon_socket(open_repo(there).state_dir)
    assert oct(sock.stat().st_mode & 0o777) == "0o600"

    # rm and merge of box1's agents, from here
    commit(there.parent / "box1-app-r1", "r1.txt", "from r1\n")
    merged = run_agentdeck("merge", "r1", cwd=here)
    assert merged.code == 0, merged.err
    assert "r1: merged agentdeck/r1 into main" in merged.out
    assert (there / "r1.txt").read_text() == "from r1\n" and not (here / "r1.txt").exists()
    removed = run_agentdeck("rm", "r2", "--force", cwd=here)
    assert removed.code == 0, removed.err
    assert not (there.parent / "box1-app-r2").exists()
    assert "name: r2" not in (here / "agentdeck.yaml").read_text()  # (not a path's "r2")
    names = {a["name"] for a in json.loads(run_agentdeck("ls", "--json", cwd=here).out)}
    assert names == {"l1", "l2", "r1"}


def test_unreachable_host_is_one_line(tmp_path: Path, sshd: SshServer) -> None:
    here, _ = two_hosts(tmp_path, sshd)
    text = (here / "agentdeck.yaml").read_text()
    (here / "agentdeck.yaml").write_text(text.replace(f"ssh: {sshd.alias}", "ssh: nohost.invalid"))
    result = run_agentdeck("up", "--no-start", "r1", cwd=here)
    assert result.code == 1
    assert "host box1: cannot reach it through `ssh nohost.invalid`" in result.err
    assert "Traceback" not in result.err


def test_destination_is_never_an_option(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "agentdeck.yaml").write_text("hosts:\n  box1: {ssh: -oProxyCommand=touch x, "
                                         "repo: /srv/app}\nagents: []\n")
    result = run_agentdeck("ls", cwd=repo)
    assert result.code == 2
    assert "is not an ssh destination" in result.err


def test_doctor_host_checks_ssh_and_the_version_there(tmp_path: Path, sshd: SshServer) -> None:
    here, _ = two_hosts(tmp_path, sshd)
    ok = run_agentdeck("doctor", "--host", "box1", cwd=here)
    assert f"ok  ssh {sshd.alias}: reachable; agentdeck " in ok.out
    assert "--- box1's own checks:" in ok.out and "git " in ok.out
    fleet = here / "agentdeck.yaml"
    fleet.write_text(fleet.read_text().replace(
        f"agentdeck: {shlex.quote(sys.executable)} -m agentdeck",
        "agentdeck: sh -c 'echo agentdeck 0.0.1'"))
    old = run_agentdeck("doctor", "--host", "box1", cwd=here)
    assert old.code == 1
    assert "host box1 runs agentdeck 0.0.1, this is agentdeck" in old.err
    assert "own checks" not in old.out
    unknown = run_agentdeck("doctor", "--host", "nope", cwd=here)
    assert unknown.code == 2 and "no host 'nope'" in unknown.err


def test_a_host_down_at_open_shows_its_agents_then_comes_back(tmp_path: Path,
                                                               sshd: SshServer) -> None:
    here, there = two_hosts(tmp_path, sshd)
    assert run_agentdeck("up", "--no-start", "r1", "r2", cwd=here).code == 0
    ctx, fleet = open_repo(here), load_fleet(here / "agentdeck.yaml")
    attach_deck(ctx, fleet).close()  # (the host's agents, as it listed them, are kept)

    # the review's git runs there: a commit in box1's worktree is in the diff read from here
    commit(there.parent / "box1-app-r1", "src/r1.py", "R1 = 1\n")
    from agentdeck.core.agents import remote

    assert "+R1 = 1" in remote.diff_there(fleet, "box1", "r1", uncommitted=False)
    assert remote.radar_there(fleet, "box1").pairs == []

    sshd.stop()
    said: list[str] = []
    from agentdeck.daemon.host_set import attach_hosts

    deck = attach_hosts(ctx, fleet, lifecycle.ensure(ctx.state_dir, fleet.path), said.append)
    try:
        assert any("host box1" in line and "show as disconnected" in line for line in said)
        assert {r.name for r in deck.records if r.host == "box1"} == {"r1", "r2"}
        assert {i.name: i.state for i in deck.host.sessions() if i.name.startswith("r")} == {
            "r1": "disconnected", "r2": "disconnected"}
        link = deck.host.hosts["box1"]  # type: ignore[attr-defined]
        back = start_sshd(tmp_path / "sshd", port=sshd.port)  # the host answers again
        try:
            wait(lambda: link.connected, "the link to reach the host", timeout=60)
            deck.start_all()
            wait(lambda: {i.name for i in deck.host.sessions()
                          if i.state not in ("disconnected", "stopped")} >= {"r1", "r2"},
                 "box1's agents running")
        finally:
            back.stop()
    finally:
        deck.close()


def test_the_radar_compares_agents_across_hosts(tmp_path: Path, sshd: SshServer) -> None:
    from agentdeck.core.agents import remote
    from agentdeck.core.git import review

    here, there = two_hosts(tmp_path, sshd)
    assert run_agentdeck("up", "--no-start", "l1", "r1", cwd=here).code == 0
    commit(here.parent / "app-l1", "src/app.py", "print('l1 was here')\n")
    commit(there.parent / "box1-app-r1", "src/app.py", "print('r1 was there')\n")
    ctx, fleet = open_repo(here), load_fleet(here / "agentdeck.yaml")
    deck = attach_deck(ctx, fleet)
    try:
        records = [r for r in deck.records if r.name in ("l1", "r1")]
    finally:
        deck.close()
    remote.fetch_branches(ctx, fleet, "box1", ["agentdeck/r1"])  # (git over the same ssh)
    notes = review.radar_notes(ctx, records)
    assert notes["l1"].startswith("⚠ r1: src/app.py"), notes
    assert notes["r1"].startswith("⚠ l1: src/app.py"), notes
