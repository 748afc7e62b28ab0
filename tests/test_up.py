"""`agentdeck up`: branches, worktrees, env files, ports and parallel setup on real repos."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Run, git, make_repo, run_agentdeck, wait, write_fleet


def _free_block(size: int = 8, first: int = 24101) -> int:
    """A start port whose next `size` ports nothing on this machine holds: the tests must not
    assume a fixed port is free (another program may hold it; the product skips it then)."""
    from agentdeck.core.isolation.ports import can_bind, listening_ports

    busy = listening_ports()
    for start in range(first, 29000, 16):
        if all(p not in busy and can_bind(p) for p in range(start, start + size)):
            return start
    raise RuntimeError("no free block of ports for the tests")


P = _free_block()
FLEET = """\
version: 1
base: origin/main
worktrees: ../{repo}-{name}
defaults:
  agent: shell
  env_copy: [.env]
  ports: {start: PORT_START, vars: [PORT, VITE_PORT], extra: [API_PORT]}
agents:
  - name: auth
    branch: feat/auth
    env: {ANTHROPIC_API_KEY: "sk-auth-123", GREETING: "hello world"}
  - name: pay
    branch: feat/pay
""".replace("PORT_START", str(P))


def test_up_makes_each_agent_an_isolated_workspace(repo: Path, cli) -> None:
    write_fleet(repo, FLEET)
    result: Run = cli("up", cwd=repo)
    assert result.code == 0, result.err
    assert "agents not started" in result.out and "--no-start" in result.out
    auth, pay = repo.parent / "app-auth", repo.parent / "app-pay"
    # branches from the base, each checked out in its worktree
    listing = git(repo, "worktree", "list", "--porcelain")
    assert f"worktree {auth}\n" in listing and "branch refs/heads/feat/auth" in listing
    assert f"worktree {pay}\n" in listing and "branch refs/heads/feat/pay" in listing
    assert git(repo, "rev-parse", "feat/auth") == git(repo, "rev-parse", "origin/main")
    # untracked env copied from the main worktree
    assert (auth / ".env").read_text() == "SECRET=from-main\n"
    # .env.local managed block: ports, compose project, the agent's own env
    env = (auth / ".env.local").read_text()
    assert f"PORT={P + 0}\nVITE_PORT={P + 0}\nAPI_PORT={P + 1}\n" in env
    assert "COMPOSE_PROJECT_NAME=app-auth\n" in env
    assert "ANTHROPIC_API_KEY=sk-auth-123\n" in env and 'GREETING="hello world"\n' in env
    pay_env = (pay / ".env.local").read_text()
    assert f"PORT={P + 2}\nVITE_PORT={P + 2}\nAPI_PORT={P + 3}\n" in pay_env
    assert (auth / ".env.local").stat().st_mode & 0o777 == 0o600  # it may hold API keys
    # nothing shows in git status: no tracked diff, the env files are ignored
    for tree in (auth, pay):
        assert git(tree, "status", "--porcelain") == "", tree
    assert git(repo, "status", "--porcelain") == "?? agentdeck.yaml\n"  # the test's own file
    exclude = (repo / ".git" / "info" / "exclude").read_text()
    assert "/.env.local" in exclude
    assert "/.env\n" not in exclude  # .env was already ignored by .gitignore: left alone
    assert not (auth / ".gitignore").read_text().count(".env.local")
    # no secret in the registry
    assert "sk-auth-123" not in (repo / ".git" / "agentdeck" / "registry.json").read_text()


def test_up_twice_changes_nothing_and_keeps_user_lines(repo: Path, cli) -> None:
    write_fleet(repo, FLEET)
    assert cli("up", cwd=repo).code == 0
    env_local = repo.parent / "app-auth" / ".env.local"
    env_local.write_text("MY_OWN=1\n" + env_local.read_text() + "# my note\nLATER=2\n")
    before = env_local.read_text()
    again = cli("up", cwd=repo)
    assert again.code == 0 and "already there: auth, pay" in again.out
    assert env_local.read_text() == before
    assert git(repo, "worktree", "list").count("\n") == 3


def test_managed_block_rewrite_keeps_user_lines(tmp_path: Path) -> None:
    from agentdeck.core.isolation.envfiles import read_env, write_managed_block

    path = tmp_path / ".env.local"
    path.write_text("MINE=1\n")
    write_managed_block(path, {"PORT": "1"})
    path.write_text(path.read_text() + "AFTER=2\n")
    write_managed_block(path, {"PORT": "2", "URL": "a b$c"})
    text = path.read_text()
    assert text.startswith("MINE=1\n# >>> agentdeck") and text.endswith("AFTER=2\n")
    assert text.count("# >>> agentdeck") == 1
    assert read_env(path) == {"MINE": "1", "PORT": "2", "URL": "a b$c", "AFTER": "2"}


def test_existing_branch_is_reused_not_reset(repo: Path, cli) -> None:
    git(repo, "branch", "feat/auth", "origin/main")
    git(repo, "checkout", "--quiet", "feat/auth")
    (repo / "work.txt").write_text("earlier work\n")
    git(repo, "add", "work.txt")
    git(repo, "commit", "--quiet", "-m", "earlier work")
    tip = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "--quiet", "main")
    write_fleet(repo, FLEET)
    assert cli("up", cwd=repo).code == 0
    assert git(repo, "rev-parse", "feat/auth") == tip
    assert (repo.parent / "app-auth" / "work.txt").read_text() == "earlier work\n"


def test_port_held_by_another_program_is_skipped(repo: Path, cli) -> None:
    # a block of its own: a port held here may linger in the kernel a while after
    q = _free_block(first=P + 64)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", q))
        taken.listen()
        write_fleet(repo, FLEET.replace(f"start: {P},", f"start: {q},"))
        assert cli("up", cwd=repo).code == 0
    ports = {a["name"]: a["ports"] for a in json.loads(cli("ls", "--json", cwd=repo).out)}
    assert q not in ports["auth"].values() and q not in ports["pay"].values()
    assert ports["auth"] == {"PORT": q + 1, "VITE_PORT": q + 1, "API_PORT": q + 2}
    assert len({p for v in ports.values() for p in v.values()}) == 4


def test_ls_json_lists_every_agent(repo: Path, cli) -> None:
    write_fleet(repo, FLEET)
    cli("up", cwd=repo)
    rows = json.loads(cli("ls", "--json", cwd=repo).out)
    assert [r["name"] for r in rows] == ["auth", "pay"]
    for row in rows:
        assert {"name", "agent", "branch", "worktree", "port", "ports", "database",
                "state"} <= set(row)
        assert row["state"] == "stopped" and row["agent"] == "shell"
    assert rows[0]["worktree"] == str(repo.parent / "app-auth")
    assert rows[0]["port"] == P and rows[0]["database"] == "-"
    table = cli("ls", cwd=repo).out.splitlines()
    assert table[0].split() == ["NAME", "AGENT", "BRANCH", "WORKTREE", "PORT", "DATABASE", "STATE"]
    assert table[1].split()[:3] == ["auth", "shell", "feat/auth"]


def test_setup_runs_in_parallel_and_a_failure_does_not_stop_the_others(repo: Path, cli) -> None:
    # Each worktree waits until both have started: passes only if they really run at once.
    barrier = repo.parent / "barrier"
    barrier.mkdir()
    script = repo.parent / "barrier.py"
    script.write_text(
        "import os, pathlib, time\n"
        f"b = pathlib.Path({str(barrier)!r})\n"
        "(b / os.environ['AGENTDECK_AGENT']).touch()\n"
        "t = time.time()\n"
        "while len(list(b.iterdir())) < 2 and time.time() - t < 20: time.sleep(0.05)\n"
        "assert len(list(b.iterdir())) == 2, 'ran alone'\n")
    wait_both = f"{sys.executable} {script}"
    fleet = FLEET.replace("  ports:", f"  setup: ['{wait_both}', 'echo port=$PORT']\n  ports:")
    fleet += (f"    setup: ['{wait_both}', 'echo installing', 'echo boom >&2; exit 3', "
              "'echo never']\n")
    write_fleet(repo, fleet)
    result = cli("up", cwd=repo)
    assert result.code == 1
    assert f"[auth] port={P}" in result.out  # live per-worktree output, env from .env.local
    assert "[auth] setup done" in result.out
    assert "[pay] installing" in result.out and "never" not in result.out
    assert "pay: setup failed — `echo boom >&2; exit 3` exited 3; last lines:" in result.err
    assert "    boom" in result.err
    states = {r["name"]: r["setup"] for r in json.loads(cli("ls", "--json", cwd=repo).out)}
    assert states == {"auth": "done", "pay": "failed"}


def test_failed_setup_is_retried_by_the_next_up(repo: Path, cli) -> None:
    flag = repo.parent / "fixed"
    fleet = FLEET + f"    setup: ['test -e {flag}']\n"
    write_fleet(repo, fleet)
    assert cli("up", cwd=repo).code == 1
    flag.touch()
    again = cli("up", cwd=repo)
    assert again.code == 0 and "[pay] setup done" in again.out


def test_spawn_adds_one_agent_recorded_in_the_registry(repo: Path, cli) -> None:
    write_fleet(repo, FLEET)
    result = cli("spawn", "docs", "--branch", "feat/docs", "--base", "main", "--agent", "codex",
                 "--task", "Write docs", cwd=repo)
    assert result.code == 0, result.err
    wt = repo.parent / "app-docs"
    assert git(wt, "rev-parse", "--abbrev-ref", "HEAD").strip() == "feat/docs"
    assert f"PORT={P}" in (wt / ".env.local").read_text()  # fleet defaults apply
    registry = json.loads((repo / ".git" / "agentdeck" / "registry.json").read_text())
    docs = registry["agents"]["docs"]
    assert (docs["agent"], docs["task"], docs["base"]) == ("codex", "Write docs", "main")
    # added to the fleet file, every line of which stays
    from agentdeck.core.fleet.schema import load_fleet

    text = (repo / "agentdeck.yaml").read_text()
    assert text.startswith(FLEET) and load_fleet(repo / "agentdeck.yaml").agent("docs")
    again = cli("spawn", "docs", "--branch", "feat/docs2", cwd=repo)
    assert again.code == 2 and "already exists" in again.err
    assert cli("spawn", "notes", "--no-save", cwd=repo).code == 0
    assert (repo / "agentdeck.yaml").read_text() == text  # --no-save: the file is untouched


def test_spawn_works_from_inside_a_worktree_and_without_fleet_file(tmp_path: Path, cli) -> None:
    repo = make_repo(tmp_path, "solo")
    assert cli("spawn", "one", "--branch", "feat/one", cwd=repo).code == 0
    wt = tmp_path / "solo-one"
    assert cli("spawn", "two", "--branch", "feat/two", cwd=wt).code == 0
    assert (tmp_path / "solo-two").is_dir()  # relative to the main worktree, not to `one`
    names = [r["name"] for r in json.loads(cli("ls", "--json", cwd=wt).out)]
    assert names == ["one", "two"]


def test_two_concurrent_ups_never_share_a_port(repo: Path) -> None:
    names = [f"w{i}" for i in range(8)]
    fleets = []
    for half in (names[:4], names[4:]):
        text = "defaults: {agent: shell, ports: {start: 4201}}\nagents:\n" + "".join(
            f"  - {{name: {n}, branch: feat/{n}}}\n" for n in half)
        fleets.append(write_fleet(repo, text, name=f"fleet-{half[0]}.yaml"))
    procs = [subprocess.Popen([sys.executable, "-m", "agentdeck", "up", "-f", str(f)], cwd=repo,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for f in fleets]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    rows = json.loads(run_agentdeck("ls", "--json", cwd=repo).out)
    ports = [r["port"] for r in rows]
    assert sorted(r["name"] for r in rows) == names
    assert len(set(ports)) == 8, ports


def _sleepers(marker: str) -> list[int]:
    import psutil

    return [p.pid for p in psutil.process_iter(["cmdline"])
            if marker in " ".join(p.info["cmdline"] or [])]


def test_a_setup_past_its_timeout_is_ended_with_everything_it_started(repo: Path) -> None:
    marker = "sleep 613"  # a number only this test uses
    write_fleet(repo, f"""version: 1
base: origin/main
worktrees: ../wt-{{name}}
defaults: {{agent: shell, setup_timeout: 1s, setup: ['{marker} & {marker}']}}
agents: [{{name: slow, branch: feat/slow}}]
""")
    result = run_agentdeck("up", "--no-start", cwd=repo, timeout=60)
    assert result.code != 0 and "setup_timeout" in result.out + result.err, result
    wait(lambda: not _sleepers(marker), "the timed-out setup's processes gone")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupting_up_ends_the_setups_it_started(repo: Path, sig: int) -> None:
    marker = f"sleep 6{sig:02d}"
    write_fleet(repo, f"""version: 1
base: origin/main
worktrees: ../wt-{{name}}
defaults: {{agent: shell, setup: ['{marker} & {marker}']}}
agents: [{{name: slow, branch: feat/slow}}]
""")
    # as from a terminal: Ctrl-C's SIGINT at its default (a test runner started in the
    # background inherits it ignored, and Python then leaves it so)
    proc = subprocess.Popen([sys.executable, "-m", "agentdeck", "up", "--no-start"], cwd=repo,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait(lambda: len(_sleepers(marker)) >= 2, "the setup running")
    proc.send_signal(sig)  # Ctrl-C, or a kill: the setups run in sessions of their own
    assert proc.wait(timeout=30) != 0
    assert proc.stderr is not None and "interrupted" in proc.stderr.read().decode()
    wait(lambda: not _sleepers(marker), "the setup's processes gone")
