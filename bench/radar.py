"""Issue 8 bench: the conflict radar.

10 agents on a 5,000-file repository, each with a commit of its own (some pairs touching the
same file), and a few uncommitted edits on disk. Prints:
  - a full radar scan (45 pairs, branch tips) vs 45 raw `git merge-tree --write-tree` calls on
    the same tips in the same run (ratio; target <= 1.3x);
  - the full scan including uncommitted work (each worktree through a temporary index);
  - the refresh after one agent edits one file.

    python bench/radar.py [--files 5000] [--agents 10]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentdeck.core.fleet.registry import Registry
from agentdeck.core.git import review
from agentdeck.core.git.repo import open_repo


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def make(root: Path, files: int, agents: int) -> Path:
    os.environ.update({"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b",
                       "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"})
    repo = root / "app"
    for i in range(files):
        path = repo / f"src/pkg{i % 50}/mod{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"value_{i} = {i}\n" * 5)
    git(root, "init", "-q", "-b", "main", str(repo))
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    names = "\n".join(f"  - {{name: a{i}, branch: b{i}}}" for i in range(agents))
    (repo / "agentdeck.yaml").write_text(
        f"version: 1\nworktrees: ../wt-{{name}}\ncommands: {{idle: 'true'}}\n"
        f"defaults: {{agent: idle}}\nagents:\n{names}\n")
    subprocess.run([sys.executable, "-m", "agentdeck", "up", "--no-start"], cwd=repo,
                   check=True, capture_output=True)
    for i in range(agents):
        wt = root / f"wt-a{i}"
        own = wt / f"src/pkg{i}/mod{i}.py"
        own.write_text(own.read_text() + f"# a{i}\n")
        shared = wt / f"src/pkg0/mod{i // 3}.py"  # every three agents share a file
        shared.write_text(f"changed by a{i}\n")
        git(wt, "commit", "-qam", f"a{i}")
        if i % 4 == 0:  # some work still on disk
            (wt / f"src/pkg1/mod{100 + i}.py").write_text("uncommitted\n")
    return repo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--agents", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentdeck-radar-") as tmp:
        repo = make(Path(tmp), args.files, args.agents)
        ctx = open_repo(repo)
        records = sorted(Registry(ctx.state_dir).load().agents.values(), key=lambda r: r.name)
        tips = [git(repo, "rev-parse", f"refs/heads/{r.branch}").strip() for r in records]
        raw_times, scan_times, disk_times = [], [], []
        for _ in range(3):
            start = time.perf_counter()
            for left, right in itertools.combinations(tips, 2):
                subprocess.run(["git", "merge-tree", "--write-tree", "--name-only",
                                "--no-messages", left, right], cwd=repo, capture_output=True)
            raw_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            found = review.radar(ctx, records, uncommitted=False)
            scan_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            review.radar(ctx, records, uncommitted=True)
            disk_times.append(time.perf_counter() - start)
        wt0 = Path(records[0].worktree)
        edited = wt0 / "src/pkg2/mod2.py"
        edited.write_text(edited.read_text() + "# one more edit\n")
        start = time.perf_counter()
        review.radar(ctx, records, uncommitted=True)
        refresh = time.perf_counter() - start
    raw, scan = statistics.median(raw_times), statistics.median(scan_times)
    pairs = args.agents * (args.agents - 1) // 2
    conflicted = sum(1 for p in found.pairs if p.conflicts)
    print(f"full radar, {pairs} pairs on {args.files:,} files (branch tips): {scan * 1000:.0f} ms "
          f"vs {pairs} raw git merge-tree calls {raw * 1000:.0f} ms -> ratio {scan / raw:.2f}x "
          f"(target <= 1.3x); {conflicted} pairs predicted to conflict")
    print(f"full radar with uncommitted work (each worktree through agentdeck's own index, "
          f"kept between scans): "
          f"{statistics.median(disk_times) * 1000:.0f} ms")
    print(f"refresh after one agent edits one file: {refresh * 1000:.0f} ms (a rescan: git "
          "re-reads only files whose stat changed)")


if __name__ == "__main__":
    main()
