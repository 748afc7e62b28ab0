"""kill -9 in the middle of `up`, run `up` again: the fleet is complete, nothing duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PgServer, git, run_agentdeck, write_fleet

AGENTS = ("auth", "pay", "search")


def _fleet(pg: PgServer, base: str, marker: Path) -> str:
    setup = (f"sh -c 'touch {marker}/setup-$AGENTDECK_AGENT; "
             f"if [ -e {marker}/block-setup ]; then sleep 60; fi'")
    return (f"defaults:\n  agent: shell\n  ports: {{start: 4601}}\n"
            f"  database: {{mode: postgres-db, url: '{pg.url(base)}'}}\n"
            f"  setup: [\"{setup}\"]\n"
            "agents:\n" + "".join(f"  - {{name: {a}, branch: feat/{a}}}\n" for a in AGENTS))


def _block_checkout_of(repo: Path, agent: str, marker: Path) -> None:
    """git runs post-checkout inside `git worktree add`: stall there for one agent."""
    hook = repo / ".git" / "hooks" / "post-checkout"
    hook.write_text(f'#!/bin/sh\nif [ "$(basename "$PWD")" = "app-{agent}" ]; then\n'
                    f'  touch {marker}/checkout-{agent}; sleep 60\nfi\n')
    hook.chmod(0o755)


def _wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


@pytest.mark.parametrize("kill_at", ["checkout-auth", "checkout-pay", "checkout-search",
                                     "setup-pay"])
def test_kill_9_mid_up_then_up_again_completes_without_duplicates(
        repo: Path, pg: PgServer, pg_base: str, tmp_path: Path, kill_at: str) -> None:
    marker = tmp_path / "markers"
    marker.mkdir()
    write_fleet(repo, _fleet(pg, pg_base, marker))
    stage, agent = kill_at.split("-")
    if stage == "checkout":
        _block_checkout_of(repo, agent, marker)
    else:
        (marker / "block-setup").touch()
    proc = subprocess.Popen([sys.executable, "-m", "agentdeck", "up"], cwd=repo, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _wait_for(marker / kill_at, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()

    # the interrupted state is visible, then a plain `up` finishes the job
    (repo / ".git" / "hooks" / "post-checkout").unlink(missing_ok=True)
    (marker / "block-setup").unlink(missing_ok=True)
    if stage == "checkout":
        listed = run_agentdeck("ls", cwd=repo)
        assert "interrupted" in listed.out, listed.out
    again = run_agentdeck("up", cwd=repo)
    assert again.code == 0, again.out + again.err

    worktrees = git(repo, "worktree", "list", "--porcelain")
    for name in AGENTS:
        assert worktrees.count(f"worktree {repo.parent / ('app-' + name)}\n") == 1
        assert worktrees.count(f"branch refs/heads/feat/{name}\n") == 1
        assert (repo.parent / f"app-{name}" / ".env.local").exists()
    assert len([d for d in repo.parent.iterdir() if d.name.startswith("app-")]) == 3 + 1  # +origin
    rows = json.loads(run_agentdeck("ls", "--json", cwd=repo).out)
    assert sorted(r["name"] for r in rows) == sorted(AGENTS)
    assert all(r["state"] == "stopped" and r["setup"] == "done" for r in rows), rows
    ports = [r["port"] for r in rows]
    assert len(set(ports)) == 3
    made = {d for d in pg.databases() if d.startswith(f"{pg_base}_")}
    assert made == {f"{pg_base}_{a}" for a in AGENTS}
    # and each agent's env points at its own database and port
    for row in rows:
        env = (Path(row["worktree"]) / ".env.local").read_text()
        assert f"/{pg_base}_{row['name']}\n" in env and f"PORT={row['port']}\n" in env


def test_a_worktree_killed_before_git_wrote_its_git_file_is_discarded(repo: Path) -> None:
    """kill -9 can land after `git worktree add` registered the worktree and made its folder but
    before it wrote the folder's .git file; `git worktree remove` refuses such a worktree."""
    from agentdeck.core.git import worktrees as wt
    from agentdeck.core.git.repo import open_repo

    path = repo.parent / "app-half"
    # --lock: git holds the same lock while it is still creating a worktree
    git(repo, "worktree", "add", "-q", "--lock", "-b", "feat/half", str(path))
    (path / ".git").unlink()
    ctx = open_repo(repo)
    assert wt.worktree_at(ctx, path) is not None
    wt.discard_unfinished(ctx, path)
    assert not path.exists()
    assert str(path) not in git(repo, "worktree", "list")
    git(repo, "worktree", "add", "-q", str(path), "feat/half")  # the branch is free again


def test_a_branch_lock_left_by_a_killed_git_is_cleared_only_if_older_than_this_run(
        repo: Path) -> None:
    from agentdeck.core.git import worktrees as wt
    from agentdeck.core.git.repo import open_repo

    ctx = open_repo(repo)
    lock = repo / ".git" / "refs" / "heads" / "feat" / "x.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text("")
    made = lock.stat().st_mtime
    assert not wt.clear_stale_ref_lock(ctx, "feat/x", older_than=made - 1)  # a live git's
    assert lock.exists()
    assert wt.clear_stale_ref_lock(ctx, "feat/x", older_than=made + 1)
    assert not lock.exists()
    git(repo, "branch", "feat/x")  # the branch can be made again
