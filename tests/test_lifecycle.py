"""Stop, restart, rm and ls of agents that run in the session host: `ls` says what each agent
is doing, `stop` ends the agent's whole process tree (a background dev server and a grandchild
that left its parent included) and nothing else, `restart` brings it back, and `rm` stops a
running agent itself — but only once the removal will go ahead, listing what --force discards."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from agentdeck.daemon import lifecycle
from tests.conftest import alive, git, make_repo, run_agentdeck, wait, write_fleet

# an agent that starts a "dev server" in the background and a grandchild that leaves its parent
# (re-parented to init, still in the agent's session), records the pids, then waits at a prompt
# (both ignore SIGHUP, as `nohup npm run dev &` would: a closing terminal does not end them)
AGENT = r"""
import os, signal, subprocess, sys, time
server = subprocess.Popen([sys.executable, "-c", "import signal, time; "
                           "signal.signal(signal.SIGHUP, signal.SIG_IGN); time.sleep(600)"])
if os.fork() == 0:  # the grandchild's parent exits at once: it is orphaned
    if os.fork() == 0:
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        time.sleep(600)
    os._exit(0)
time.sleep(0.2)
with open(sys.argv[1], "a") as out:
    out.write(f"{os.getpid()} {server.pid} {os.environ['AGENTDECK_AGENT']}\n")
print("Run make deploy? [y/n] ", end="", flush=True)
sys.stdin.readline()
time.sleep(600)
"""


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    repo = make_repo(tmp_path)
    agent = tmp_path / "agent.py"
    agent.write_text(AGENT)
    pids = tmp_path / "pids"
    write_fleet(repo, f"""version: 1
base: origin/main
worktrees: ../wt-{{name}}
commands: {{dev: "{sys.executable} {agent} {pids}"}}
agents:
  - {{name: web, branch: feat/web, agent: dev}}
  - {{name: api, branch: feat/api, agent: dev}}
""")
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    yield repo, pids
    lifecycle.stop(repo / ".git" / "agentdeck")


def the_tree(pid: int) -> set[int]:
    """Every process in the agent's session (its tree, and what left its parent)."""
    found = set()
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == pid:
                found.add(proc.pid)
        except (OSError, psutil.Error):
            pass
    return found


def pid_of(pids: Path, name: str) -> int:
    """The newest pid the agent `name` recorded."""
    return [int(line.split()[0]) for line in pids.read_text().splitlines()
            if line.split()[2] == name][-1]


def states(repo: Path) -> dict[str, str]:
    return {r["name"]: r["state"] for r in json.loads(
        run_agentdeck("ls", "--json", cwd=repo).out)}


def test_ls_stop_and_restart_follow_the_session_host(fleet) -> None:
    repo, pids = fleet
    assert states(repo) == {"web": "stopped", "api": "stopped"}  # nothing runs them yet
    assert run_agentdeck("start", cwd=repo).code == 0
    wait(lambda: pids.exists() and len(pids.read_text().split("\n")) == 3, "both agents")
    wait(lambda: states(repo) == {"web": "waiting", "api": "waiting"}, "the live states")
    web, api = (pid_of(pids, name) for name in ("web", "api"))
    web_tree = the_tree(web)
    assert len(web_tree) >= 3  # the agent, its server, and the orphaned grandchild
    api_tree = the_tree(api)

    result = run_agentdeck("stop", "web", cwd=repo)
    assert result.code == 0 and "web: stopped" in result.out, result
    assert not any(alive(p) for p in web_tree), "a process of the stopped agent's tree is left"
    assert all(psutil.pid_exists(p) for p in api_tree)  # the other agent is untouched
    assert states(repo) == {"web": "stopped", "api": "waiting"}
    assert (repo.parent / "wt-web").is_dir()  # its worktree stays

    both = run_agentdeck("stop", "web", "api", cwd=repo).out
    assert "web: not running" in both and "api: stopped" in both
    result = run_agentdeck("restart", "web", cwd=repo)
    assert result.code == 0 and "web: restarted" in result.out, result
    wait(lambda: states(repo)["web"] == "waiting", "web back at its prompt")


def test_rm_stops_a_running_agent_only_when_the_removal_goes_ahead(fleet) -> None:
    repo, pids = fleet
    assert run_agentdeck("start", "web", cwd=repo).code == 0
    wait(lambda: states(repo).get("web") == "waiting", "web running")
    (repo.parent / "wt-web" / "notes.txt").write_text("unsaved thoughts\n")
    refused = run_agentdeck("rm", "web", cwd=repo)
    assert refused.code == 1 and "notes.txt" in refused.err and "--force" in refused.err
    assert states(repo)["web"] == "waiting"  # refused: still running, nothing stopped
    tree = the_tree(pid_of(pids, "web"))

    forced = run_agentdeck("rm", "web", "--force", cwd=repo)
    assert forced.code == 0, forced
    lines = forced.out.splitlines()
    # what is discarded is listed, whole, before it goes; then the agent is stopped and removed
    assert lines[0].startswith("web: --force discards 1 uncommitted or untracked change(s)")
    assert lines[1].strip() == "?? notes.txt"
    assert any("stopped it" in line for line in lines[2:])
    assert not (repo.parent / "wt-web").exists()
    assert not any(alive(p) for p in tree)
    assert "web" not in states(repo)
    git(repo, "rev-parse", "--verify", "feat/web")  # the branch is kept


async def test_the_dashboard_stops_and_restarts_the_selected_agent(fleet) -> None:
    from agentdeck.core.deck import Deck
    from agentdeck.core.fleet.schema import load_fleet
    from agentdeck.core.git.repo import open_repo
    from agentdeck.ui.app import AgentdeckApp

    repo, pids = fleet
    deck = Deck.open(open_repo(repo), load_fleet(repo / "agentdeck.yaml"))
    app = AgentdeckApp(deck)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            async def until(condition, what: str) -> None:
                for _ in range(400):
                    if condition():
                        return
                    await pilot.pause(0.05)
                raise AssertionError(f"timed out waiting for {what}: {app.dashboard.rows}")

            await until(lambda: app.dashboard.rows["web"].state == "waiting", "web at its prompt")
            app.dashboard.select("web")
            tree = the_tree(pid_of(pids, "web"))
            await pilot.press("X")
            dash = app.dashboard
            await until(lambda: dash.rows.get("web") and dash.rows["web"].state == "stopped",
                        "web stopped")
            assert "(None)" not in app.dashboard.rows["web"].detail
            assert not any(alive(p) for p in tree)
            await pilot.press("R")  # an agent that is not running starts again
            await until(lambda: app.dashboard.rows["web"].state == "waiting", "web started again")
    finally:
        deck.close()


def test_the_registry_folder_is_private_whatever_the_umask(fleet) -> None:
    repo, _pids = fleet
    state = repo / ".git" / "agentdeck"
    loose = state / "old-notes.txt"  # left readable by an older version
    loose.write_text("x")
    os.chmod(loose, 0o644)
    old = os.umask(0)  # the most permissive umask there is, for every process started below
    try:
        assert run_agentdeck("start", "web", cwd=repo).code == 0
        wait(lambda: states(repo).get("web") == "waiting", "web running")
        assert run_agentdeck("logs", "web", cwd=repo).code == 0
    finally:
        os.umask(old)
    made = [p for p in state.rglob("*") if not p.is_symlink()]
    assert any(p.name == "daemon.log" for p in made) and any(p.suffix == ".log" for p in made
                                                            if p.parent.name == "transcripts")
    loose_modes = {str(p.relative_to(state)): oct(p.stat().st_mode & 0o777) for p in made
                   if p.stat().st_mode & 0o077}
    assert loose_modes == {}
    assert state.stat().st_mode & 0o777 == 0o700


def test_spawn_starts_the_new_agent_in_a_running_session_host(fleet) -> None:
    repo, _pids = fleet
    assert run_agentdeck("start", "web", cwd=repo).code == 0
    result = run_agentdeck("spawn", "extra", "--agent", "dev", cwd=repo)
    assert result.code == 0, result
    assert "extra: added to" in result.out and "extra: started" in result.out
    wait(lambda: states(repo).get("extra") == "waiting", "the new agent at its prompt")


def test_agents_in_a_dashboard_are_not_started_again_by_the_cli(fleet) -> None:
    from agentdeck.core.deck import Deck
    from agentdeck.core.fleet.schema import load_fleet
    from agentdeck.core.git.repo import open_repo

    repo, _pids = fleet
    deck = Deck.open(open_repo(repo), load_fleet(repo / "agentdeck.yaml"))  # as the demo does
    try:
        refused = run_agentdeck("start", cwd=repo)
        assert refused.code == 1 and "run inside a dashboard" in refused.err, refused
        assert len([line for line in refused.err.splitlines() if line.strip()]) == 1
        assert lifecycle.connect(repo / ".git" / "agentdeck") is None  # no daemon was left
    finally:
        deck.close()
    assert run_agentdeck("start", cwd=repo).code == 0  # once it is gone, a daemon hosts them
