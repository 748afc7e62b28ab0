"""Issue 16 bench (4): idle means idle. 10 idle agents on a 5,000-file repository, with the
dashboard open (it runs the conflict radar): the % of one core the dashboard and its session
host daemon use over a quiet window, including every child process they ran and waited for
(the radar's git), target < 0.5 %. Anchor, in the same run: a bare Textual app (a header and a
footer) idling in the same kind of PTY for the same window; the ratio says what agentdeck's
dashboard adds to what any Textual app costs.

    python bench/idle.py [--agents 10] [--files 5000] [--window 60] [--runs 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard import AGENTDECK, BARE_APP, Running, git  # bench/dashboard.py
from dashboard import make_repo as dashboard_repo


def make_repo(root: Path, agents: int, files: int) -> Path:
    """bench/dashboard.py's repository with `files` source files, and work on two branches
    (so the radar has something to compare)."""
    repo = dashboard_repo(root, agents, 20, files)
    for n in range(min(2, agents)):
        wt = root / f"wt-a{n}"
        (wt / "src" / "pkg0" / "mod0.py").write_text(f"VALUE_0 = {100 + n}\n")
        git(wt, "commit", "-qam", f"work {n}")
    return repo


def cpu_with_children(procs: list[psutil.Process], window: float) -> list[float]:
    """% of a core over `window`: [each process's own, …, their children's together]."""
    def sample() -> list[float]:
        times = [p.cpu_times() for p in procs]
        return [t.user + t.system for t in times] + [
            sum(t.children_user + t.children_system for t in times)]

    before = sample()
    time.sleep(window)
    return [100.0 * (b - a) / window for a, b in zip(before, sample(), strict=True)]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    ours: list[float] = []
    bare: list[float] = []
    split: list[list[float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        repo = make_repo(root, args.agents, args.files)
        for _ in range(args.runs):
            dash = Running([*AGENTDECK], repo, daemon_of=repo)
            try:
                dash.settle(quiet=2.0, limit=120.0)  # started, replayed, first radar scan
                parts = cpu_with_children(dash.procs(), args.window)
                ours.append(sum(parts))
                split.append(parts)
            finally:
                dash.close()
            app = root / "bare.py"
            app.write_text(BARE_APP)
            plain = Running([sys.executable, str(app)], root)
            try:
                plain.settle(quiet=2.0)
                bare.append(sum(cpu_with_children(plain.procs(), args.window)))
            finally:
                plain.close()
    mid, anchor = statistics.median(ours), statistics.median(bare)
    print(f"idle: {args.agents} agents, {args.files} files, {args.window:.0f} s windows, "
          f"{args.runs} run(s)")
    print(f"  agentdeck (dashboard + daemon + their children): {mid:.2f} % of a core "
          f"(runs: {', '.join(f'{x:.2f}' for x in ours)}; target < 0.5 %)")
    for parts in split:
        print("  split: " + ", ".join(f"{label} {x:.2f} %" for label, x in zip(
            ("dashboard", "daemon", "their children (git)"), parts, strict=False)))
    ratio = mid / anchor if anchor else float("inf")
    print(f"  a bare Textual app: {anchor:.2f} %; ratio {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
