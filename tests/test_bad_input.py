"""Bad input: one line `agentdeck: error: …`, the right exit status, nothing half-made."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tests.conftest import assert_one_line_error, git, run_agentdeck, write_fleet

FLEET = """\
defaults: {agent: shell, ports: {start: 4301}}
agents:
  - {name: auth, branch: feat/auth}
  - {name: pay, branch: feat/pay}
"""


def _nothing_made(repo: Path) -> None:
    assert git(repo, "worktree", "list").count("\n") == 1
    assert git(repo, "branch", "--list", "feat/*") == ""
    registry = repo / ".git" / "agentdeck" / "registry.json"
    assert not registry.exists() or json.loads(registry.read_text())["agents"] == {}


def test_branch_checked_out_elsewhere_names_the_worktree_and_suggests(repo: Path) -> None:
    other = repo.parent / "by-hand"
    git(repo, "worktree", "add", "--quiet", "-b", "feat/auth", str(other), "main")
    write_fleet(repo, FLEET)
    result = run_agentdeck("up", cwd=repo)
    assert_one_line_error(result, 2, "'feat/auth'", f"checked out in {other}", "feat/auth-2")
    assert git(repo, "worktree", "list").count("\n") == 2  # the validation made nothing
    assert git(repo, "branch", "--list", "feat/pay") == ""


def test_invalid_branch_name(repo: Path) -> None:
    write_fleet(repo, FLEET.replace("feat/pay", "'feat..pay'"))
    assert_one_line_error(run_agentdeck("up", cwd=repo), 2, "'feat..pay' is not a valid branch")
    _nothing_made(repo)


def test_missing_base_ref(repo: Path) -> None:
    write_fleet(repo, "base: origin/nope\n" + FLEET)
    assert_one_line_error(run_agentdeck("up", cwd=repo), 2, "base ref 'origin/nope'",
                          "does not exist")
    _nothing_made(repo)


def test_not_a_git_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    write_fleet(plain, FLEET)
    assert_one_line_error(run_agentdeck("up", cwd=plain, env={"GIT_CEILING_DIRECTORIES":
                                                              str(tmp_path)}),
                          2, "not inside a git repository")


def test_git_older_than_2_38(repo: Path, tmp_path: Path) -> None:
    # We cannot install an old git here: a wrapper reports 2.30 and passes everything else on.
    fake = tmp_path / "oldgit"
    fake.mkdir()
    real = shutil.which("git")
    (fake / "git").write_text(
        f'#!/bin/sh\nif [ "$1" = "--version" ]; then echo "git version 2.30.9"; exit 0; fi\n'
        f'exec {real} "$@"\n')
    (fake / "git").chmod(0o755)
    write_fleet(repo, FLEET)
    result = run_agentdeck("up", cwd=repo, env={"PATH": f"{fake}:{os.environ['PATH']}"})
    assert_one_line_error(result, 2, "git 2.30.9 is too old", "2.38")
    _nothing_made(repo)


def test_unknown_subcommand_and_bad_flag_are_usage_errors(repo: Path) -> None:
    assert_one_line_error(run_agentdeck("upp", cwd=repo), 2,
                          "no command 'upp': did you mean `agentdeck up`?")
    assert_one_line_error(run_agentdeck("rm", cwd=repo), 2, "name")
    assert_one_line_error(run_agentdeck("rm", "ghost", cwd=repo), 2, "no agent named 'ghost'")


def test_failed_agent_is_rolled_back_and_the_others_stay(repo: Path) -> None:
    # pay asks for a compose database but the branch has no compose file: the failure comes
    # after its branch and worktree exist, so they must be undone.
    write_fleet(repo, FLEET.replace("branch: feat/pay}", "branch: feat/pay, database: compose}"))
    result = run_agentdeck("up", cwd=repo)
    assert_one_line_error(result, 2, "pay:", "no compose.yaml")
    assert "failed, rolled back" in result.out
    assert not (repo.parent / "app-pay").exists()
    assert git(repo, "branch", "--list", "feat/pay") == ""
    assert (repo.parent / "app-auth" / ".env.local").exists()
    rows = json.loads(run_agentdeck("ls", "--json", cwd=repo).out)
    assert [r["name"] for r in rows] == ["auth"]


def test_tracked_env_file_is_refused_not_modified(repo: Path) -> None:
    (repo / "local.env").write_text("COMMITTED=1\n")
    git(repo, "add", "local.env")
    git(repo, "commit", "--quiet", "-m", "tracked env")
    git(repo, "push", "--quiet", "origin", "HEAD:main")
    write_fleet(repo, FLEET.replace("defaults: {", "defaults: {env_file: local.env, "))
    result = run_agentdeck("up", "auth", cwd=repo)
    assert_one_line_error(result, 2, "'local.env' is tracked")
    assert (repo / "local.env").read_text() == "COMMITTED=1\n"
    _nothing_made(repo)


def test_existing_directory_at_the_worktree_path_is_not_touched(repo: Path) -> None:
    target = repo.parent / "app-auth"
    target.mkdir()
    (target / "precious.txt").write_text("mine\n")
    write_fleet(repo, FLEET)
    assert_one_line_error(run_agentdeck("up", cwd=repo), 2, f"{target} already exists")
    assert (target / "precious.txt").read_text() == "mine\n"
    _nothing_made(repo)


def test_a_fleet_file_given_before_the_subcommand_is_used(repo: Path) -> None:
    result = run_agentdeck("-f", "nowhere.yaml", "up", "--no-start", cwd=repo)
    assert_one_line_error(result, 2, "nowhere.yaml", "no such fleet file")


def test_out_of_range_numbers_and_a_missing_folder_are_usage_errors(repo: Path) -> None:
    for args, needle in [(("detect", "--raw", "--cols", "-5"), "--cols"),
                         (("detect", "--raw", "--rows", "0"), "--rows"),
                         (("detect", "--raw", "--cols", "100000000"), "--cols"),
                         (("serve", "--port", "70000"), "--port"),
                         (("serve", "--port", "0"), "--port"),
                         (("-C", str(repo / "nowhere"), "ls"), "nowhere"),
                         (("stop",), "NAME"),
                         (("stop", "ghost"), "no agent named ghost")]:
        result = run_agentdeck(*args, cwd=repo)
        assert_one_line_error(result, 2, needle)
    assert not (repo / ".git" / "agentdeck" / "daemon.sock").exists()  # serve started nothing


def test_hostile_yaml_is_refused_quickly_in_one_line(repo: Path) -> None:
    bomb = repo / "bomb.yaml"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n, letter in enumerate("bcdefghi"):
        prev = "abcdefghi"[n]
        lines.append(f"{letter}: &{letter} [{', '.join([f'*{prev}'] * 9)}]")
    bomb.write_text("\n".join(lines) + "\n")
    deep = repo / "deep.yaml"
    deep.write_text("agents: " + "[" * 5000 + "]" * 5000 + "\n")
    big = repo / "big.yaml"
    big.write_text("# " + "x" * (2 << 20) + "\n")
    for fleet, needle in [(bomb, "alias"), (deep, "nested too deeply"), (big, "too large"),
                          (Path("/dev/zero"), "not a regular file")]:
        result = run_agentdeck("up", "--no-start", "-f", str(fleet), cwd=repo, timeout=60)
        assert_one_line_error(result, 2, needle)
    _nothing_made(repo)


def test_paths_into_git_or_another_agents_worktree_are_refused(repo: Path) -> None:
    two = "agents: [{name: a, branch: feat/a}, {name: b, branch: feat/b}]\n"
    for fleet, needle in [
            ("worktrees: ../wt-{name.__class__}\n" + two, "{name.__class__}"),
            ("worktrees: ../wt-{nope}\n" + two, "{nope}"),
            ("defaults: {agent: shell, env_file: .git/config}\n" + two, "inside .git"),
            ("defaults: {agent: shell, env_copy: [.git/HEAD]}\n" + two, "inside .git"),
            ("worktrees: .git/wt-{name}\n" + two, "inside git's own folder"),
            ("agents: [{name: a, branch: feat/a, worktree: ../same},"
             " {name: b, branch: feat/b, worktree: ../same/inner}]\n", "would share a worktree"),
            ("agents: [{name: a, branch: feat/a, worktree: ../same},"
             " {name: b, branch: feat/b, worktree: ../same}]\n", "would share a worktree")]:
        write_fleet(repo, "version: 1\ndefaults: {agent: shell}\n" + fleet
                    if "defaults" not in fleet else "version: 1\n" + fleet)
        assert_one_line_error(run_agentdeck("up", "--no-start", cwd=repo), 2, needle)
        _nothing_made(repo)


def test_a_closed_pipe_ends_quietly(repo: Path) -> None:
    import subprocess
    import sys

    # `agentdeck ls --json | head -c 100` on a registry whose listing outgrows the pipe
    state = repo / ".git" / "agentdeck"
    state.mkdir(parents=True, exist_ok=True)
    agents = {f"a{i}": {"name": f"a{i}", "branch": f"feat/a{i}", "base": "main",
                        "worktree": str(repo / f"w{i}"), "agent": "shell", "role": "worker",
                        "status": "ready", "task": "x" * 2000}
              for i in range(200)}
    (state / "registry.json").write_text(json.dumps({"version": 1, "agents": agents}))
    proc = subprocess.Popen([sys.executable, "-m", "agentdeck", "ls", "--json"], cwd=repo,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(100)
    proc.stdout.close()  # `| head -c 100`
    assert proc.wait(timeout=60) == 0
    err = proc.stderr.read().decode()
    assert "Traceback" not in err and "error" not in err and "Broken" not in err
