"""`agentdeck rm` never loses work without --force; `agentdeck prune` follows reality."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import assert_one_line_error, git, run_agentdeck, write_fleet

FLEET = """\
defaults: {agent: shell, ports: {start: 4401}, database: {mode: sqlite, path: data/app.db}}
agents:
  - {name: auth, branch: feat/auth}
  - {name: pay, branch: feat/pay}
"""


def _up(repo: Path, cli) -> None:
    (repo / ".gitignore").write_text(".env\ndata/\n")
    (repo / "data").mkdir()
    (repo / "data" / "app.db").write_bytes(b"")
    write_fleet(repo, FLEET)
    assert cli("up", cwd=repo).code == 0


def _names(cli, repo: Path) -> list[str]:
    return [r["name"] for r in json.loads(cli("ls", "--json", cwd=repo).out)]


def test_rm_removes_worktree_frees_port_keeps_branch(repo: Path, cli) -> None:
    _up(repo, cli)
    wt = repo.parent / "app-auth"
    result = cli("rm", "auth", cwd=repo)
    assert result.code == 0, result.err
    assert not wt.exists()
    assert "freed port 4401" in result.out and "branch feat/auth kept" in result.out
    assert git(repo, "branch", "--list", "feat/auth").strip() == "feat/auth"
    assert _names(cli, repo) == ["pay"]
    # the freed port goes to the next agent
    assert cli("spawn", "docs", "--branch", "feat/docs", cwd=repo).code == 0
    ports = {r["name"]: r["port"] for r in json.loads(cli("ls", "--json", cwd=repo).out)}
    assert ports["docs"] == 4401


def test_rm_refuses_uncommitted_and_untracked_work(repo: Path, cli) -> None:
    _up(repo, cli)
    wt = repo.parent / "app-auth"
    (wt / "README.md").write_text("changed\n")
    (wt / "notes.txt").write_text("new\n")
    result = run_agentdeck("rm", "auth", cwd=repo)
    assert_one_line_error(result, 1, "refusing to remove auth", "2 uncommitted or untracked",
                          "M README.md", "?? notes.txt", "--force")
    assert (wt / "notes.txt").read_text() == "new\n"
    assert "auth" in _names(cli, repo)
    forced = cli("rm", "auth", "--force", cwd=repo)
    assert forced.code == 0 and not wt.exists()


def test_rm_delete_branch_refuses_to_drop_unique_commits(repo: Path, cli) -> None:
    _up(repo, cli)
    wt = repo.parent / "app-auth"
    (wt / "login.py").write_text("def login(): ...\n")
    git(wt, "add", "login.py")
    git(wt, "commit", "--quiet", "-m", "add login")
    result = run_agentdeck("rm", "auth", "--delete-branch", cwd=repo)
    assert_one_line_error(result, 1, "refusing to delete branch feat/auth", "1 commit(s)",
                          "add login")
    assert wt.exists() and git(repo, "branch", "--list", "feat/auth")
    # once the commit is on another branch, deleting is safe
    git(repo, "branch", "keep-login", "feat/auth")
    assert cli("rm", "auth", "--delete-branch", cwd=repo).code == 0
    assert git(repo, "branch", "--list", "feat/auth") == ""
    assert git(repo, "rev-parse", "keep-login")


def test_rm_force_delete_branch_with_unique_commits(repo: Path, cli) -> None:
    _up(repo, cli)
    wt = repo.parent / "app-pay"
    (wt / "pay.py").write_text("x = 1\n")
    git(wt, "add", "pay.py")
    git(wt, "commit", "--quiet", "-m", "pay")
    result = cli("rm", "pay", "--delete-branch", "--force", "--drop-db", cwd=repo)
    assert result.code == 0
    assert "deleted branch feat/pay" in result.out
    assert git(repo, "branch", "--list", "feat/pay") == ""


def test_prune_reconciles_a_worktree_deleted_by_hand(repo: Path, cli) -> None:
    _up(repo, cli)
    shutil.rmtree(repo.parent / "app-auth")
    listed = cli("ls", cwd=repo)
    assert "missing" in listed.out and "agentdeck prune" in listed.err
    result = cli("prune", cwd=repo)
    assert result.code == 0
    assert "auth: worktree" in result.out and "entry removed, freed port 4401" in result.out
    assert "left in place" not in result.out  # its sqlite copy went with the worktree
    assert "branch feat/auth kept" in result.out
    assert _names(cli, repo) == ["pay"]
    assert str(repo.parent / "app-auth") not in git(repo, "worktree", "list")
    assert "nothing to prune" in cli("prune", cwd=repo).out


def test_lead_in_main_worktree_is_never_removed(repo: Path, cli) -> None:
    write_fleet(repo, "defaults: {agent: shell, ports: {start: 4401}}\n"
                      "agents:\n  - {name: lead, role: lead, branch: main}\n")
    assert cli("up", cwd=repo).code == 0
    assert "PORT=4401" in (repo / ".env.local").read_text()
    rows = json.loads(cli("ls", "--json", cwd=repo).out)
    assert rows[0]["worktree"] == str(repo)
    refused = run_agentdeck("rm", "lead", "--delete-branch", cwd=repo)
    assert_one_line_error(refused, 2, "branch main is checked out in")
    assert cli("rm", "lead", cwd=repo).code == 0
    assert repo.is_dir() and (repo / "README.md").exists()


def test_rm_takes_the_agent_out_of_the_fleet_file_keeping_the_rest(repo: Path, cli) -> None:
    from agentdeck.core.fleet.schema import load_fleet

    (repo / ".gitignore").write_text(".env\n")
    text = """\
version: 1
# the team's fleet
defaults: {agent: shell, ports: {start: 4501}}
agents:
  # the first one
  - name: one
    branch: feat/one   # block style
  # the second one, kept
  - {name: two, branch: feat/two}
  - name: three
    branch: feat/three
dashboard: {bell: false}  # after the list
"""
    write_fleet(repo, text)
    assert cli("up", cwd=repo).code == 0
    result = cli("rm", "one", cwd=repo)
    assert result.code == 0 and f"one: removed from {repo / 'agentdeck.yaml'}" in result.out
    after = (repo / "agentdeck.yaml").read_text()
    # its lines go; every comment stays (nothing the user wrote is lost but the entry)
    assert after == text.replace("  - name: one\n    branch: feat/one   # block style\n", "")
    result = cli("rm", "three", cwd=repo)
    assert result.code == 0 and "three: removed from" in result.out
    assert "three" not in (repo / "agentdeck.yaml").read_text()
    assert "dashboard: {bell: false}  # after the list" in (repo / "agentdeck.yaml").read_text()
    result = cli("rm", "two", "--keep-in-fleet", cwd=repo)
    assert result.code == 0 and "two: kept in" in result.out
    assert [a.name for a in load_fleet(repo / "agentdeck.yaml").agents] == ["two"]
    # the next `up` makes only what the file still lists
    assert cli("up", cwd=repo).code == 0
    assert _names(cli, repo) == ["two"]


def test_rm_of_the_last_agent_leaves_an_empty_list(repo: Path, cli) -> None:
    (repo / ".gitignore").write_text(".env\n")
    write_fleet(repo, "version: 1\ndefaults: {agent: shell}\nagents:  # none yet\n"
                "  - {name: solo, branch: feat/solo}\n")
    assert cli("up", cwd=repo).code == 0
    assert cli("rm", "solo", cwd=repo).code == 0
    assert (repo / "agentdeck.yaml").read_text() == (
        "version: 1\ndefaults: {agent: shell}\nagents: []  # none yet\n")
