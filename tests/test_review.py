"""Review with real repositories: diffs, the conflict radar (branch tips and uncommitted work,
through a temporary index that leaves the agent's own index alone), the scope check, merges
(plain, squash, refused when dirty or conflicting) and cleanup."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import psutil

from agentdeck.core.fleet.registry import Registry
from agentdeck.daemon import lifecycle
from tests.conftest import alive, commit, git, run_agentdeck, wait, write_fleet

FLEET = """version: 1
base: origin/main
worktrees: ../wt-{name}
commands: {idle: "true"}
defaults: {agent: idle, ports: {start: 47511}}
agents:
  - {name: a, branch: feat/a}
  - {name: b, branch: feat/b, forbid: [src/types/]}
"""


def setup(repo: Path, cli) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    write_fleet(repo, FLEET)
    assert cli("up", cwd=repo).code == 0
    return repo.parent / "wt-a", repo.parent / "wt-b"


def test_conflicts_predicted_from_branches_and_from_uncommitted_work(repo: Path, cli) -> None:
    a, b = setup(repo, cli)
    commit(a, "src/app.py", "print('a')\n")
    commit(b, "src/app.py", "print('b')\n")
    out = cli("conflicts", "--json", cwd=repo)
    assert out.code == 1
    data = json.loads(out.out)
    assert data["pairs"] == [{"a": "a", "b": "b", "conflicts": ["src/app.py"],
                              "overlap": ["src/app.py"]}]

    # only on disk: a committed README, b edits it without committing
    git(b, "reset", "-q", "--hard", "HEAD~1")
    commit(a, "README.md", "# a's readme\n")
    (b / "README.md").write_text("# b's readme, not committed\n")
    status_before = git(b, "status", "--porcelain")
    assert "README.md" in cli("conflicts", cwd=repo).out
    committed_only = json.loads(cli("conflicts", "--json", "--committed", cwd=repo).out)
    assert all("README.md" not in p["conflicts"] for p in committed_only["pairs"])
    # the agent's own index and files are as they were
    assert git(b, "status", "--porcelain") == status_before
    assert git(b, "diff", "--cached") == ""
    assert (b / "README.md").read_text() == "# b's readme, not committed\n"


def test_scope_flags_forbidden_paths(repo: Path, cli) -> None:
    _, b = setup(repo, cli)
    commit(b, "src/types/user.py", "class User: ...\n")
    out = cli("conflicts", cwd=repo)
    assert "b: changed forbidden paths: src/types/user.py" in out.out


def test_diff_is_base_to_branch_and_can_include_uncommitted(repo: Path, cli) -> None:
    a, _ = setup(repo, cli)
    commit(a, "src/a.py", "x = 1\n")
    (a / "src/b.py").write_text("y = 2\n")
    plain = cli("diff", "a", cwd=repo).out
    assert "+x = 1" in plain and "b.py" not in plain
    assert "+y = 2" in cli("diff", "a", "--uncommitted", cwd=repo).out


def test_disjoint_branches_merge_and_the_others_are_told_the_base_moved(repo: Path,
                                                                        cli) -> None:
    a, b = setup(repo, cli)
    commit(a, "src/a.py", "x = 1\n")
    commit(b, "src/b.py", "y = 2\n")
    assert cli("conflicts", cwd=repo).out.strip() == "no collisions"
    out = cli("merge", "a", "--no-ff", cwd=repo)
    assert out.code == 0, out.err
    assert "merged feat/a into main" in out.out and "b: main moved; feat/b is" in out.out
    assert (repo / "src/a.py").read_text() == "x = 1\n"
    assert len(git(repo, "log", "-1", "--format=%P").split()) == 2  # a merge commit
    log = (repo / ".git/agentdeck/merges.jsonl").read_text().splitlines()
    assert json.loads(log[-1])["branch"] == "feat/a"


def test_squash_makes_one_plain_commit(repo: Path, cli) -> None:
    a, _ = setup(repo, cli)
    commit(a, "src/a.py", "x = 1\n", "one")
    commit(a, "src/a.py", "x = 2\n", "two")
    before = git(repo, "rev-parse", "HEAD").strip()
    assert cli("merge", "a", "--squash", cwd=repo).code == 0
    assert git(repo, "rev-parse", "HEAD~1").strip() == before
    assert len(git(repo, "log", "-1", "--format=%P").split()) == 1
    assert (repo / "src/a.py").read_text() == "x = 2\n"


def test_a_dirty_target_or_a_predicted_conflict_is_refused_and_nothing_changes(
        repo: Path, cli) -> None:
    a, _ = setup(repo, cli)
    commit(a, "README.md", "# from a\n")
    (repo / "README.md").write_text("# edited in main, not committed\n")
    head = git(repo, "rev-parse", "HEAD")
    dirty = cli("merge", "a", cwd=repo)
    assert dirty.code == 1 and "uncommitted changes" in dirty.err and "README.md" in dirty.err
    git(repo, "checkout", "-q", "README.md")
    commit(repo, "README.md", "# main moved on\n")
    head = git(repo, "rev-parse", "HEAD")
    clash = cli("merge", "a", cwd=repo)
    assert clash.code == 1 and "would conflict in README.md" in clash.err
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""


def test_merge_with_cleanup_leaves_no_worktree_branch_or_port(repo: Path, cli) -> None:
    a, _ = setup(repo, cli)
    commit(a, "src/a.py", "x = 1\n")
    out = cli("merge", "a", "--cleanup", cwd=repo)
    assert out.code == 0, out.err
    assert not a.exists()
    assert "feat/a" not in git(repo, "branch", "--list")
    assert "a" not in Registry(repo / ".git" / "agentdeck").load().agents


def test_a_squash_merge_cleans_up_judging_the_branch_by_its_content(repo: Path, cli) -> None:
    a, b = setup(repo, cli)
    commit(a, "src/a.py", "x = 1\n", "one")
    commit(a, "src/a.py", "x = 2\n", "two")
    out = cli("merge", "a", "--squash", "--cleanup", cwd=repo)
    assert out.code == 0, out.err
    assert "a: deleted branch feat/a" in out.out and not a.exists()
    # out of the fleet file too: the next `up` does not make it again
    assert "a: removed from" in out.out and "name: a," not in (repo / "agentdeck.yaml").read_text()
    assert cli("up", "--no-start", cwd=repo).code == 0 and not a.exists()
    # squash-merged outside agentdeck: its changes are in main, so deleting it loses nothing
    commit(b, "src/b.py", "y = 1\n")
    git(repo, "merge", "--squash", "feat/b")
    git(repo, "commit", "-qm", "b, squashed")
    removed = cli("rm", "b", "--delete-branch", cwd=repo)
    assert removed.code == 0 and "deleted branch feat/b" in removed.out, removed.err


def test_uncommitted_changes_the_merge_does_not_touch_do_not_block_it(repo: Path, cli) -> None:
    """rm edits the fleet file in the main checkout: the next merge still goes (the change
    stays uncommitted, as git keeps it); a change to a file the merge changes still refuses."""
    a, b = setup(repo, cli)
    git(repo, "add", "agentdeck.yaml")
    git(repo, "commit", "-qm", "the fleet")  # committed, as a team keeps it
    commit(a, "src/a.py", "x = 1\n")
    commit(b, "src/b.py", "y = 1\n")
    assert cli("rm", "b", "--force", cwd=repo).code == 0  # edits agentdeck.yaml in main
    assert " M agentdeck.yaml" in git(repo, "status", "--porcelain")
    out = cli("merge", "a", cwd=repo)
    assert out.code == 0, out.err
    assert (repo / "src/a.py").exists()
    assert " M agentdeck.yaml" in git(repo, "status", "--porcelain")  # kept, uncommitted


def test_a_merge_whose_cleanup_is_refused_still_succeeds(repo: Path, cli) -> None:
    a, _ = setup(repo, cli)
    commit(a, "src/a.py", "x = 1\n")
    (a / "scratch.txt").write_text("not committed\n")
    out = cli("merge", "a", "--cleanup", cwd=repo)
    assert out.code == 0 and "merged feat/a into" in out.out
    assert "merged, but not cleaned up" in out.err and "scratch.txt" in out.err
    assert a.exists() and (repo / "src/a.py").exists()


def test_merge_cleanup_stops_a_running_agent_first(repo: Path, tmp_path: Path) -> None:
    script = tmp_path / "sleeper.py"
    script.write_text("import subprocess, sys, time\n"
                      "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
                      "print('working', flush=True)\ntime.sleep(600)\n")
    write_fleet(repo, FLEET.replace('commands: {idle: "true"}',
                                    f'commands: {{idle: "{sys.executable} {script}"}}'))
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    a = repo.parent / "wt-a"
    try:
        assert run_agentdeck("start", "a", cwd=repo).code == 0
        host = lifecycle.connect(repo / ".git" / "agentdeck")
        assert host is not None
        wait(lambda: host.info("a").pid and "working" in run_agentdeck("logs", "a",
                                                                       cwd=repo).out,
             "the agent and its child")
        tree = [p.pid for p in psutil.Process(host.info("a").pid).children(recursive=True)]
        tree.append(host.info("a").pid)
        host.close()
        commit(a, "src/a.py", "x = 1\n")
        out = run_agentdeck("merge", "a", "--cleanup", cwd=repo)
        assert out.code == 0, out.err
        assert "a: stopped it and every process it started" in out.out and not a.exists()
        assert not any(alive(pid) for pid in tree)
        status = run_agentdeck("daemon", "status", cwd=repo)
        assert status.code == 0 and "0 sessions" in status.out  # a is forgotten
    finally:
        run_agentdeck("daemon", "stop", cwd=repo)


def test_merge_cleanup_drops_the_agents_database_too(repo: Path, cli, pg, pg_base: str) -> None:
    write_fleet(repo, FLEET.replace(
        "defaults: {agent: idle, ports: {start: 47511}}",
        f"defaults: {{agent: idle, ports: {{start: 47511}}, database: {{mode: postgres-db, "
        f"url: '{pg.url(pg_base)}'}}}}"))
    assert cli("up", cwd=repo).code == 0
    assert f"{pg_base}_a" in pg.databases()
    commit(repo.parent / "wt-a", "src/a.py", "x = 1\n")
    out = cli("merge", "a", "--cleanup", cwd=repo)
    assert out.code == 0, out.err
    assert f"{pg_base}_a" not in pg.databases()
    assert f"{pg_base}_b" in pg.databases()  # the other agent's is untouched
    assert not (repo.parent / "wt-a").exists()
    assert "feat/a" not in git(repo, "branch", "--list")
    assert "a" not in Registry(repo / ".git" / "agentdeck").load().agents  # its port is free


def test_merge_warns_about_forbidden_paths_and_work_left_out_and_names_a_fast_forward(
        repo: Path, cli) -> None:
    _, b = setup(repo, cli)
    commit(b, "src/types/user.py", "class User: ...\n")  # b was told not to touch src/types/
    (b / "scratch.txt").write_text("not committed\n")
    out = cli("merge", "b", cwd=repo)
    assert out.code == 0, out.err
    warnings = [line for line in out.err.splitlines() if line.startswith("agentdeck: warning")]
    assert any("src/types/user.py" in w and "told not to touch" in w for w in warnings)
    assert any("scratch.txt" in w and "leaves out" in w for w in warnings)
    assert "(fast-forward," in out.out  # main had nothing of its own: no merge commit
