"""Issue 16 and 32 bench (5): instant start. With the session host daemon running 5 agents, the
time from `agentdeck` starting to (a) its titles and footer (every pane's title and the footer
drawn) and (b) every pane showing its agent's screen (each agent's last line, its "idle>"
prompt, on the terminal: the dashboard's output read through a terminal emulator), beside a
bare Textual app's first frame in the same run (the anchor: what any Textual app costs; rounds
alternate the two; target for (b): < 500 ms and <= 2.5x the bare app); and the quick commands
`agentdeck ls`, `--help` and the hook (target < 100 ms each), beside `python -c pass`. Medians
of --runs, the load average printed; and the CPU each program had used by (a) and (b) (from
/proc: a loaded machine stretches it less than the wall clock, so its ratio is the steadier).

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

from dashboard import AGENTDECK, BARE_APP, load_average  # the same folder
from idle import make_repo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agentdeck.core.screen.terminal import make_emulator

# as installed: pip compiles the modules' bytecode, so a user's commands never compile them
# (this machine sets PYTHONDONTWRITEBYTECODE, which would time the compiler on every run)
ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
       "TERM": "xterm-256color", "COLORTERM": "truecolor"}


def cpu_seconds(pid: int) -> float:
    """The CPU time a process has used (user + system), from /proc (0 where there is none): a
    figure that a loaded machine stretches less than the wall clock."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rpartition(b")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def first_frame(argv: list[str], cwd: Path, marks: list[bytes],
                shown: tuple[str, int] = ("", 0)) -> tuple[float, float, float, float]:
    """Seconds until every mark has been drawn, and until the screen (the output fed to a
    terminal emulator as it comes) shows `shown[0]` at least `shown[1]` times; then the CPU
    seconds the program had used at each."""
    start = time.perf_counter()
    child = pexpect.spawn(argv[0], argv[1:], cwd=str(cwd), env=ENV, dimensions=(50, 200),
                          echo=False)
    screen = make_emulator(200, 50, 0)
    seen = b""
    marked = on_screen = 0.0
    cpu = [0.0, 0.0]
    text, count = shown
    try:
        while not (marked and on_screen):
            data = child.read_nonblocking(1 << 16, timeout=30)
            now = time.perf_counter() - start
            seen += data
            screen.feed(data)
            if not marked and all(m in seen for m in marks):
                marked, cpu[0] = now, cpu_seconds(child.pid)
            if not on_screen and sum(line.count(text) for line in screen.lines()) >= count:
                on_screen, cpu[1] = now, cpu_seconds(child.pid)
        return marked, on_screen, cpu[0], cpu[1]
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
            prompts = ("idle>", args.agents)  # each agent's last line, in its pane
            first_frame([*AGENTDECK], repo, marks, prompts)  # writes the bytecode, as an
            run_time([*AGENTDECK, "ls"], repo)  # install does
            first_frame([sys.executable, str(bare)], root, [b"Quit"])
            ours, anchor, anchor_cpu = [], [], []
            for _ in range(args.runs):
                ours.append(first_frame([*AGENTDECK], repo, marks, prompts))
                bare_frame = first_frame([sys.executable, str(bare)], root, [b"Quit"])
                anchor.append(bare_frame[0])
                anchor_cpu.append(bare_frame[2])
            quick = {name: [run_time(argv, repo) for _ in range(args.runs)] for name, argv in (
                ("python -c pass", [sys.executable, "-c", "pass"]),
                ("agentdeck ls", [*AGENTDECK, "ls"]),
                ("agentdeck --help", [*AGENTDECK, "--help"]),
                ("agentdeck hook claude", [*AGENTDECK, "hook", "claude"]))}
        finally:
            subprocess.run([*AGENTDECK, "daemon", "stop"], cwd=repo, capture_output=True)
    base = statistics.median(anchor)
    print(load_average("end"))
    print(f"a bare Textual app's first frame: {base * 1000:.0f} ms (range "
          f"{min(anchor) * 1000:.0f}-{max(anchor) * 1000:.0f})")
    for n, label in ((0, "titles and footer"), (1, "every pane shows its agent's screen")):
        times = [run[n] for run in ours]
        mid = statistics.median(times)
        print(f"{label}, {args.agents} agents, daemon running: {mid * 1000:.0f} ms (range "
              f"{min(times) * 1000:.0f}-{max(times) * 1000:.0f}); ratio {mid / base:.1f}x the "
              "bare app" + ("; target < 500 ms and <= 2.5x" if n else ""))
    base_cpu = statistics.median(anchor_cpu)
    if base_cpu:  # (where /proc tells)
        print(f"CPU used by then (medians): the bare app {base_cpu * 1000:.0f} ms; agentdeck "
              + ", ".join(f"{label} {statistics.median(run[n] for run in ours) * 1000:.0f} ms "
                          f"({statistics.median(run[n] for run in ours) / base_cpu:.1f}x)"
                          for n, label in ((2, "titles and footer"), (3, "every pane"))))
    for name, times in quick.items():
        print(f"{name}: {statistics.median(times) * 1000:.0f} ms (range "
              f"{min(times) * 1000:.0f}-{max(times) * 1000:.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
