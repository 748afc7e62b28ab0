"""Worktrees added, removed, pruned and listed at the same time, by threads and by another
process: every git call succeeds and no registration is ever seen half-written.

Without one lock around every change to `.git/worktrees`, a `git worktree add` or `list` that
reads a registration another git is writing or deleting dies with "failed to read …/commondir"
(the crash test's second `up` once did)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from agentdeck.core.git import worktrees as wt
from agentdeck.core.git.repo import open_repo

ROUNDS = 12
WORKERS = 3

CHURN = """
import sys
from pathlib import Path
from agentdeck.core.git import worktrees as wt
from agentdeck.core.git.repo import open_repo
ctx = open_repo(Path(sys.argv[1]))
for n in range(int(sys.argv[2])):
    path = Path(sys.argv[1]).parent / f"proc-{n}"
    wt.add_worktree(ctx, path, f"proc/{n}", "HEAD")
    wt.list_worktrees(ctx)
    wt.remove_worktree(ctx, path, force=True)
    wt.delete_branch(ctx, f"proc/{n}")
print("ok")
"""


def test_concurrent_adds_removals_and_listings_never_fail(repo: Path) -> None:
    ctx = open_repo(repo)
    errors: list[str] = []
    done = threading.Event()

    def churn(worker: int) -> None:
        try:
            for n in range(ROUNDS):
                path = repo.parent / f"w{worker}-{n}"
                wt.add_worktree(ctx, path, f"w{worker}/{n}", "HEAD")
                if n % 3 == 2:  # a folder deleted by hand, then pruned
                    subprocess.run(["rm", "-rf", str(path)], check=True)
                    wt.prune_worktrees(ctx)
                else:
                    wt.remove_worktree(ctx, path, force=True)
                wt.delete_branch(ctx, f"w{worker}/{n}")
        except Exception as exc:  # reported below, with the git message
            errors.append(f"worker {worker}: {exc}")

    def watch() -> None:
        while not done.is_set():
            try:
                for tree in wt.list_worktrees(ctx):
                    assert tree.path.name, tree
            except Exception as exc:
                errors.append(f"list: {exc}")
                return

    proc = subprocess.Popen([sys.executable, "-c", CHURN, str(repo), str(ROUNDS)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    threads = [threading.Thread(target=churn, args=(i,)) for i in range(WORKERS)]
    watcher = threading.Thread(target=watch)
    for thread in [*threads, watcher]:
        thread.start()
    for thread in threads:
        thread.join()
    out, err = proc.communicate(timeout=300)
    done.set()
    watcher.join()
    assert not errors, errors
    assert proc.returncode == 0 and out.strip() == "ok", err
    # nothing left behind, and what git lists is only the main worktree
    assert [w.path for w in wt.list_worktrees(ctx)] == [repo]
    registrations = ctx.common_dir / "worktrees"
    assert not registrations.exists() or not any(registrations.iterdir())
