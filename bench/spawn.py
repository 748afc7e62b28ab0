"""`agentdeck up --no-start` of 5 agents vs raw `git worktree add -b` ×5, same repository, same run.

Generates a repository of 5,000 files (with an origin), then alternates the two ways several
times, cleaning up between rounds, and prints the median of each and their ratio.
Target: ratio ≤ 1.5.

    python bench/spawn.py [--files 5000] [--agents 5] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GIT_ENV = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "b@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "b@example.invalid",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=GIT_ENV)


def make_repo(root: Path, files: int) -> Path:
    origin, repo = root / "origin.git", root / "repo"
    git(root, "init", "-q", "--bare", "--initial-branch=main", str(origin))
    git(root, "clone", "-q", str(origin), str(repo))
    for i in range(files):
        path = repo / f"src/pkg{i // 100:03d}/mod{i:05d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'"""Module {i}."""\n\nVALUE = {i}\n\n\ndef f{i}(x):\n    return x + {i}\n')
    (repo / ".gitignore").write_text(".env\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "generated")
    git(repo, "push", "-q", "origin", "HEAD:main")
    git(repo, "remote", "set-head", "origin", "main")
    (repo / ".env").write_text("SECRET=x\n")
    return repo


def clean(repo: Path, names: list[str]) -> None:
    for name in names:
        path = repo.parent / f"repo-{name}"
        if path.exists():
            git(repo, "worktree", "remove", "--force", str(path))
        subprocess.run(["git", "branch", "-D", f"feat/{name}"], cwd=repo, capture_output=True)
    shutil.rmtree(repo / ".git" / "agentdeck", ignore_errors=True)


def raw_git(repo: Path, names: list[str]) -> float:
    start = time.perf_counter()
    for name in names:
        git(repo, "worktree", "add", "-q", "-b", f"feat/{name}", str(repo.parent / f"repo-{name}"),
            "origin/main")
    return time.perf_counter() - start


def agentdeck_up(repo: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "agentdeck", "up", "--no-start"], cwd=repo, check=True,
                   capture_output=True, env=GIT_ENV)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    names = [f"a{i}" for i in range(args.agents)]
    with tempfile.TemporaryDirectory(prefix="agentdeck-bench-") as tmp:
        repo = make_repo(Path(tmp), args.files)
        (repo / "agentdeck.yaml").write_text(
            "defaults: {agent: shell, env_copy: [.env], ports: {start: 4701}}\nagents:\n"
            + "".join(f"  - {{name: {n}, branch: feat/{n}}}\n" for n in names))
        raw, ours = [], []
        for _ in range(args.rounds):
            raw.append(raw_git(repo, names))
            clean(repo, names)
            ours.append(agentdeck_up(repo))
            clean(repo, names)
    r, o = statistics.median(raw), statistics.median(ours)
    print(f"files={args.files} agents={args.agents} rounds={args.rounds}")
    print(f"raw git worktree add -b x{args.agents}: {r * 1000:7.1f} ms (median)")
    print(f"agentdeck up --no-start:        {o * 1000:7.1f} ms (median)")
    print(f"ratio agentdeck/raw: {o / r:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
