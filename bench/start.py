"""Issue 16 bench (5): instant start. With the session host daemon running 5 agents, the time
from `agentdeck` starting to its first full frame (every pane's title and the footer drawn),
beside a bare Textual app's first frame in the same run (the anchor: what any Textual app
costs); and the quick commands `agentdeck ls`, `--help` and the hook (target < 100 ms each),
beside `python -c pass`. Medians of --runs.

    python bench/start.py [--agents 5] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pexpect

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard import AGENTDECK, BARE_APP  # the same folder
from idle import make_repo

# as installed: pip compiles the modules' bytecode, so a user's commands never compile them
# (this machine sets PYTHONDONTWRITEBYTECODE, which would time the compiler on every run)
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
       "TERM": "xterm-256color", "COLORTERM": "truecolor"}


def first_frame(argv: list[str], cwd: Path, marks: list[bytes]) -> float:
    """Seconds until every mark has been drawn (the screen is read as it comes)."""
    start = time.perf_counter()
    child = pexpect.spawn(argv[0], argv[1:], cwd=str(cwd), env=ENV, dimensions=(50, 200),
                          echo=False)
    seen = b""
    try:
        while not all(m in seen for m in marks):
            seen += child.read_nonblocking(1 << 16, timeout=30)
        return time.perf_counter() - start
    finally:
        child.terminate(force=True)


def run_time(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, capture_output=True, input=b"{}", check=False, env=ENV)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = make_repo(root, args.agents, 200)
        subprocess.run([*AGENTDECK, "start"], cwd=repo, check=True, capture_output=True)
        try:
            bare = root / "bare.py"
            bare.write_text(BARE_APP)
            marks = [f"a{i} · filler".encode() for i in range(args.agents)] + [b"quit"]
            first_frame([*AGENTDECK], repo, marks)  # writes the bytecode, as an install does
            run_time([*AGENTDECK, "ls"], repo)
            first_frame([sys.executable, str(bare)], root, [b"Quit"])
            ours = [first_frame([*AGENTDECK], repo, marks) for _ in range(args.runs)]
            anchor = [first_frame([sys.executable, str(bare)], root, [b"Quit"])
                      for _ in range(args.runs)]
            quick = {name: [run_time(argv, repo) for _ in range(args.runs)] for name, argv in (
                ("python -c pass", [sys.executable, "-c", "pass"]),
                ("agentdeck ls", [*AGENTDECK, "ls"]),
                ("agentdeck --help", [*AGENTDECK, "--help"]),
                ("agentdeck hook claude", [*AGENTDECK, "hook", "claude"]))}
        finally:
            subprocess.run([*AGENTDECK, "daemon", "stop"], cwd=repo, capture_output=True)
    mid, base = statistics.median(ours), statistics.median(anchor)
    print(f"first full frame with {args.agents} agents, daemon running: {mid * 1000:.0f} ms "
          f"(range {min(ours) * 1000:.0f}-{max(ours) * 1000:.0f}; target < 500 ms); a bare "
          f"Textual app: {base * 1000:.0f} ms; ratio {mid / base:.1f}x")
    for name, times in quick.items():
        print(f"{name}: {statistics.median(times) * 1000:.0f} ms (range "
              f"{min(times) * 1000:.0f}-{max(times) * 1000:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
