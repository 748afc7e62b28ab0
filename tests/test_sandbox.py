"""A sandbox per agent, with real bubblewrap: the agent edits, commits and runs its tests in its
worktree, and cannot write the main checkout, another agent's worktree, the user's home or /etc,
nor read the user's secrets or another agent's .env.local; with `network: false` it has no
network but its own loopback. Its prompts still reach the queue."""

from __future__ import annotations

import json
import shutil
import socket
import sys
from pathlib import Path

import pytest

from agentdeck.core.deck import Deck
from agentdeck.core.engine.engine import Engine
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from tests.conftest import git, make_repo, requires, run_agentdeck, wait, write_fleet


@pytest.fixture(autouse=True)
def _needs_bwrap() -> None:
    requires("bubblewrap", None if shutil.which("bwrap") else "not installed (.ci/run installs it)")

# Tries what an agent might, from its worktree, and writes what happened there (the one place
# it may write), then asks a permission like Claude Code and waits.
PROBE = r"""
import json, os, socket, subprocess, sys
home, main, other, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def attempt(what, fn):
    try:
        fn()
        return "ok"
    except OSError as exc:
        return type(exc).__name__
def write(path):
    def go():
        with open(path, "w") as fh:
            fh.write("x")
    return go
def read(path):
    def go():
        with open(path) as fh:
            if not fh.read():
                raise PermissionError("empty")
    return go
def net():  # a service on this machine's loopback (the sandbox's own, without network)
    socket.create_connection(("127.0.0.1", port), timeout=5).close()
def run(*argv):
    subprocess.run(argv, check=True, capture_output=True)
results = {
    "own file": attempt("", write("mine.txt")),
    "commit": attempt("", lambda: (run("git", "add", "mine.txt"),
                                   run("git", "-c", "user.email=a@b", "-c", "user.name=a",
                                       "commit", "-qm", "mine"))),
    "tests": attempt("", lambda: run(sys.executable, "-c", "assert 1 + 1 == 2")),
    "temp": attempt("", write("/tmp/scratch.txt")),
    "main checkout": attempt("", write(os.path.join(main, "evil.txt"))),
    "other worktree": attempt("", write(os.path.join(other, "evil.txt"))),
    "other env": attempt("", read(os.path.join(other, ".env.local"))),
    "ssh key": attempt("", read(os.path.join(home, ".ssh", "id_ed25519"))),
    "ssh write": attempt("", write(os.path.join(home, ".ssh", "authorized_keys"))),
    "home": attempt("", write(os.path.join(home, "evil.txt"))),
    "home folder": attempt("", write(os.path.join(home, "docs", "evil.txt"))),
    "etc": attempt("", write("/etc/agentdeck-evil")),
    # what would make git, run outside the sandbox later, run a program or use another repo
    "git pointer": attempt("", write(".git")),
    "git hooks": attempt("", write(os.path.join(main, ".git", "hooks", "post-checkout"))),
    "network": attempt("", net),
}
with open("probe.json", "w") as fh:
    json.dump(results, fh)
sys.stdout.write("\r\n Bash command\r\n\r\n   rm -rf build\r\n   Clean it\r\n\r\n"
                 " Do you want to proceed?\r\n > 1. Yes\r\n   2. No\r\n\r\n Esc to cancel\r\n")
sys.stdout.flush()
sys.stdin.read(1)
"""


def sandboxed_fleet(tmp_path: Path, network: bool, port: int = 9) -> tuple[Path, Path]:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY\n")
    (home / "docs").mkdir()
    repo = make_repo(tmp_path)
    (repo / "probe.py").write_text(PROBE)
    git(repo, "add", "probe.py")
    git(repo, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "probe")
    command = (f"{sys.executable} {repo / 'probe.py'} {home} {repo} "
               f"{tmp_path / 'wt-b'} {port}")
    write_fleet(repo, f"""\
version: 1
worktrees: ../wt-{{name}}
commands: {{probe: {json.dumps(command)}}}
defaults:
  agent: probe
  sandbox: {{mode: bwrap, network: {str(network).lower()}}}
agents:
  - {{name: a}}
  - {{name: b, sandbox: none}}
""")
    return repo, home


@pytest.mark.parametrize("network", [False, True])
def test_a_sandboxed_agent_works_in_its_worktree_only(tmp_path: Path, network: bool,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    service = socket.create_server(("127.0.0.1", 0))  # listening: a connect succeeds
    repo, home = sandboxed_fleet(tmp_path, network, service.getsockname()[1])
    monkeypatch.setenv("HOME", str(home))
    ctx = open_repo(repo)
    fleet = load_fleet(repo / "agentdeck.yaml")
    Engine(ctx, fleet).up([])
    (tmp_path / "wt-b" / ".env.local").write_text("B_SECRET=1\n")
    deck = Deck.open(ctx, fleet)
    try:
        record = next(r for r in deck.records if r.name == "a")
        deck.start(record)
        wait(lambda: deck.queue.entry_for("a") is not None, "a's prompt in the queue", 30)
        entry = deck.queue.entry_for("a")
        assert entry is not None and entry.summary == "rm -rf build"
        results = json.loads((tmp_path / "wt-a" / "probe.json").read_text())
        assert results["own file"] == results["commit"] == results["tests"] == "ok"
        assert results["temp"] == "ok"
        for denied in ("main checkout", "other worktree", "home folder", "etc", "ssh write",
                       "git pointer", "git hooks"):
            assert results[denied] in ("OSError", "PermissionError"), (denied, results)
        assert results["other env"] != "ok" and results["ssh key"] != "ok", results
        assert results["network"] == ("ok" if network else "ConnectionRefusedError"), results
        for place in (repo, home, home / "docs", tmp_path / "wt-b"):
            assert not (place / "evil.txt").exists()
        # what it writes at the top of its home stays in a home of its own
        assert results["home"] == "ok"
        assert (ctx.state_dir / "sandbox" / "a" / "home" / "evil.txt").exists()
        # its commit reaches its branch outside (the session host carries it out)
        wait(lambda: git(tmp_path / "wt-a", "log", "-1", "--format=%s").strip() == "mine",
             "a's commit on its branch outside the sandbox", 10)
        assert "mine.txt" in git(tmp_path / "wt-a", "show", "--name-only", "HEAD")
        assert (home / ".ssh" / "id_ed25519").read_text() == "PRIVATE KEY\n"
        deck.queue.answer(entry.id, "deny")
    finally:
        deck.close()
        service.close()


def test_ls_and_doctor_say_what_the_sandbox_needs(tmp_path: Path) -> None:
    repo, _ = sandboxed_fleet(tmp_path, network=False)
    doctor = run_agentdeck("doctor", cwd=repo)
    assert "bubblewrap" in doctor.out


def test_the_macos_profile_says_the_same_rules(tmp_path: Path) -> None:
    """macOS's sandbox-exec is not run here (no macOS machine runs the tests): its profile is
    checked as text — the same writable places, the same hidden ones, paths quoted."""
    from agentdeck.core.agents.sandbox import seatbelt_profile
    from agentdeck.core.fleet.registry import AgentRecord

    repo = tmp_path / 'we"ird'
    me = AgentRecord("a", "claude", "worker", "a", "main", str(tmp_path / "wt-a"))
    other = AgentRecord("b", "claude", "worker", "b", "main", str(tmp_path / "wt-b"))
    home = tmp_path / "home"
    profile = seatbelt_profile(me, repo / ".git", repo, [me, other], home, tmp_path / "own",
                               network=False)
    lines = profile.splitlines()
    assert lines[:3] == ["(version 1)", "(allow default)", "(deny file-write*)"]
    assert f'(subpath "{tmp_path}/wt-a")' in lines[3]
    assert f'(subpath "{tmp_path}/we\\"ird/.git/objects")' in lines[3]
    assert f'(subpath "{home}/.ssh")' in lines[4] and f'(subpath "{tmp_path}/wt-b")' in lines[4]
    assert f'(subpath "{tmp_path}/wt-a")' not in lines[4]
    assert "(deny network*)" in lines
    with_network = seatbelt_profile(me, repo / ".git", repo, [me], home, tmp_path, network=True)
    assert "(deny network*)" not in with_network


def test_seatbelt_on_linux_is_one_clear_line(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    repo, home = sandboxed_fleet(tmp_path, network=True)
    monkeypatch.setenv("HOME", str(home))
    text = (repo / "agentdeck.yaml").read_text().replace("mode: bwrap", "mode: seatbelt")
    (repo / "agentdeck.yaml").write_text(text)
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    Engine(ctx, fleet).up([])
    deck = Deck.open(ctx, fleet)
    try:
        error = deck.start(next(r for r in deck.records if r.name == "a"))
    finally:
        deck.close()
    assert error is not None and "seatbelt (macOS sandbox-exec)" in error
    assert "on Linux use sandbox: bwrap" in error
