"""Review with real repositories: diffs, the conflict radar (branch tips and uncommitted work,
through a temporary index that leaves the agent's own index alone), the scope check, merges
(plain, squash, refused when dirty or conflicting) and cleanup."""

from __future__ import annotations

import json
from pathlib import Path

from agentdeck.core.registry import Registry
from tests.conftest import commit, git, write_fleet

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
