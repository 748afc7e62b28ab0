"""Issue 19 bench: what the bubblewrap sandbox adds to an agent's start. The same agent (a
program that prints one line and waits) started in a real session with and without its
sandbox, rounds alternating; the time from the session's spawn to its line on the screen.
Target: the sandbox adds < 50 ms (median), printed beside the unsandboxed start (the anchor).

    python bench/sandbox.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentdeck.core.agents import sandbox
from agentdeck.core.agents.sessions.host import SessionSpec
from agentdeck.core.agents.sessions.local import LocalHost
from agentdeck.core.fleet.options import SandboxSpec
from agentdeck.core.fleet.registry import AgentRecord

PROGRAM = "import time; print('ready', flush=True); time.sleep(60)"


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def start_time(host: LocalHost, spec: SessionSpec) -> float:
    begin = time.perf_counter()
    host.spawn(spec)
    while not any("ready" in line for line in host.snapshot(spec.name)):
        time.sleep(0.001)  # (polling the screen for the line: the measurement itself)
    elapsed = time.perf_counter() - begin
    host.forget(spec.name)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    why = sandbox.available()
    if why is not None:
        print(f"skipped: {why}")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo, worktree = root / "app", root / "app-a"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        git(repo, "-c", "user.email=b@b", "-c", "user.name=b", "commit", "-q", "--allow-empty",
            "-m", "first")
        git(repo, "worktree", "add", "-q", "-b", "a", str(worktree))
        rec = AgentRecord("a", "shell", "worker", "a", "main", str(worktree))
        host = LocalHost()
        plain: list[float] = []
        fenced: list[float] = []
        try:
            for n in range(args.rounds):
                spec = SessionSpec(f"p{n}", (sys.executable, "-c", PROGRAM), str(worktree),
                                   {"PATH": "/usr/bin:/bin", "HOME": str(root)}, "shell")
                plain.append(start_time(host, spec))
                wrapped = sandbox.wrap(spec, SandboxSpec("bwrap"), rec, repo / ".git", repo, [],
                                       repo / ".git" / "agentdeck")
                fenced.append(start_time(host, replace(wrapped, name=f"s{n}")))
        finally:
            host.close()
    base, boxed = statistics.median(plain), statistics.median(fenced)
    print(f"agent start to its first line, median of {args.rounds}: without sandbox "
          f"{base * 1000:.1f} ms (range {min(plain) * 1000:.1f}-{max(plain) * 1000:.1f}), in "
          f"bubblewrap {boxed * 1000:.1f} ms (range {min(fenced) * 1000:.1f}-"
          f"{max(fenced) * 1000:.1f}); the sandbox adds {(boxed - base) * 1000:.1f} ms "
          f"(target < 50 ms), ratio {boxed / base:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
