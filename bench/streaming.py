"""Issue 32 bench: what a working fleet costs. 10 and 40 agents each stream ~42 KB/s — steady
log lines, or spinner-style redraws (an Ink-like status block redrawn in place, in synchronized
frames, with a log line scrolling above it now and then) — and the CPU of agentdeck (the
dashboard, its session host daemon and what they ran and waited for) is measured against tmux
(its server and an attached client, the agents' panes tiled in one window, all visible), both in
a 200x50 PTY drained as a terminal would. psutil cpu_times of each process over the same
window; the agents themselves are the same programs under both and are not counted (their CPU
and the bytes they got out are printed, so a contender that held its agents back shows).
Rounds alternate the contenders; figures are medians of the rounds, the load average printed.
Targets: 10 agents <= 3x tmux, 40 agents <= 2x tmux.

    python bench/streaming.py [--sizes 10,40] [--kinds lines,spinner] [--rounds 3] [--window 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard import AGENTDECK, Running, load_average, make_repo  # the same folder
from idle import cpu_with_children

SOCKET = "agentdeck-streaming"
RATE = 42_000  # bytes a second per agent
# argv[1]: the folder the bytes written are counted in; the kind is read from the file "kind"
# beside this script (lines | spinner), so one fleet file serves both kinds
STREAMER = textwrap.dedent("""\
    import os, sys, time
    here = os.path.dirname(os.path.abspath(__file__))
    kind = open(os.path.join(here, "kind")).read().strip()
    counts = os.path.join(here, "counts")
    os.makedirs(counts, exist_ok=True)
    count_file = os.path.join(counts, str(os.getpid()))
    rate, tick = %(rate)d, 0.025
    per_tick = rate * tick
    spin = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
    box = 10
    written = n = 0
    start = last_count = time.monotonic()
    if kind == "spinner":
        os.write(1, b"\\r\\n" * box)
    while True:
        if kind == "lines":
            out = []
            size = 0
            while size < per_tick:
                line = (f"\\x1b[32m{n:7d}\\x1b[0m compiling src/module_{n %% 97}.py "
                        f"\\x1b[2m({n * 7 %% 1000} ms)\\x1b[0m " + "." * (n %% 40) + "\\r\\n")
                out.append(line)
                size += len(line)
                n += 1
            data = "".join(out).encode()
        else:
            # an Ink-like frame, as wide as the terminal (as a TUI draws it): back to the
            # block's top, a log line above it every fourth frame (the block moves down a row),
            # the block redrawn row by row, its last row a status line padding the frame to the
            # tick's share of the rate
            cols = max(os.get_terminal_size(1).columns - 1, 10)
            rows = [(f"\\x1b[36m", f"● Read src/module_{n %% 97}.py ({n} lines)")] if n %% 4 == 0 \\
                else []
            rows.append(("\\x1b[38;5;208m", f"{spin[n %% 10]} Thinking… ({n // 40}s · ↑ {n * 3} "
                                            "tokens · esc to interrupt)"))
            for row in range(1, box - 1):
                rows.append((f"\\x1b[3{row %% 8}m", f"  │ step {row}: " + "#" * ((n + row) %% 30)
                             + " " * (30 - (n + row) %% 30) + f"{(n * row) %% 100:3d}%%"))
            size = sum(len(sgr) + len(text) + 14 for sgr, text in rows)
            rows.append(("\\x1b[2m", "· " * max(1, (int(per_tick) - size - 30) // 4)))
            body = "".join(f"\\x1b[2K{sgr}{text[:cols]}\\x1b[0m\\r\\n" for sgr, text in rows)
            data = f"\\x1b[?2026h\\x1b[{box}A\\r{body}\\x1b[?2026l".encode()
            n += 1
        os.write(1, data)
        written += len(data)
        now = time.monotonic()
        if now - last_count > 0.5:
            with open(count_file + ".tmp", "w") as fh:
                fh.write(str(written))
            os.replace(count_file + ".tmp", count_file)
            last_count = now
        # paced by the clock (a late tick is caught up), so both contenders are offered the
        # same: log lines by the byte, frames by the frame (a narrower pane's frame has fewer
        # bytes, as a TUI's does); a terminal that reads slowly blocks the writes, which the
        # counts show
        if kind == "lines":
            if written >= (now - start) * rate:
                time.sleep(tick)
        elif start + n * tick > now:
            time.sleep(start + n * tick - now)
""") % {"rate": RATE}


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args], check=True,
                          capture_output=True, text=True).stdout.strip()


def counted(root: Path) -> int:
    total = 0
    for path in (root / "counts").glob("[0-9]*"):
        try:
            total += int(path.read_text() or 0)
        except (OSError, ValueError):
            continue
    return total


def agents_cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


Figures = tuple[float, float, float, list[float]]


def measure(root: Path, agents: Callable[[], list[psutil.Process]], ours: list[psutil.Process],
            window: float) -> Figures:
    """(% of a core of `ours` and their waited children, % of a core of the agents, KB/s the
    agents got out each, each of `ours`' own %) over `window` seconds."""
    before_agents, before_bytes = agents_cpu(agents()), counted(root)
    parts = cpu_with_children(ours, window)
    after_agents, after_bytes = agents_cpu(agents()), counted(root)
    return (sum(parts), 100.0 * (after_agents - before_agents) / window,
            (after_bytes - before_bytes) / window / 1000 / max(len(agents()), 1), parts[:-1])


def wait_streaming(root: Path, agents: Callable[[], list[psutil.Process]], n: int,
                   limit: float = 180.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if len(agents()) >= n and len(list((root / "counts").glob("[0-9]*"))) >= n:
            return
        time.sleep(0.2)
    raise SystemExit(f"the {n} agents did not all start streaming in {limit:.0f} s")


def run_agentdeck(root: Path, repo: Path, n: int, warmup: float,
                  window: float) -> Figures:
    shutil.rmtree(root / "counts", ignore_errors=True)
    # each round starts its agents afresh: no transcripts of the last round to restore
    shutil.rmtree(repo / ".git" / "agentdeck" / "transcripts", ignore_errors=True)
    dash = Running([*AGENTDECK], repo, daemon_of=repo)
    try:
        def agents() -> list[psutil.Process]:
            procs = dash.procs()
            return procs[1].children() if len(procs) > 1 else []

        wait_streaming(root, agents, n)
        time.sleep(warmup)
        return measure(root, agents, dash.procs(), window)
    finally:
        dash.close()


def run_tmux(root: Path, n: int, warmup: float, window: float) -> Figures:
    shutil.rmtree(root / "counts", ignore_errors=True)
    command = f"{sys.executable} {root / 'filler.py'} 0"
    tmux("start-server", ";", "new-session", "-d", "-x", "200", "-y", "50", "-s", "s", command)
    for _ in range(n - 1):
        tmux("split-window", "-t", "s", command, ";", "select-layout", "-t", "s", "tiled")
    client = Running(["tmux", "-L", SOCKET, "-f", "/dev/null", "attach", "-t", "s"], root)
    try:
        server = psutil.Process(int(tmux("display-message", "-p", "#{pid}")))

        def agents() -> list[psutil.Process]:
            return server.children()

        wait_streaming(root, agents, n)
        time.sleep(warmup)
        return measure(root, agents, [server, client.proc], window)
    finally:
        client.close()
        subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,40")
    parser.add_argument("--kinds", default="lines,spinner")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=4.0)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("bench/streaming.py needs tmux (apt-get install tmux)")
    targets = {10: 3.0, 40: 2.0}
    print(load_average("start"))
    results = []
    for n in (int(x) for x in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="agentdeck-bench-",
                                         ignore_cleanup_errors=True) as tmp:
            root = Path(tmp)
            repo = make_repo(root, n, 0)
            (root / "filler.py").write_text(STREAMER)
            for kind in args.kinds.split(","):
                (root / "kind").write_text(kind)
                ours, anchor = [], []
                for _ in range(args.rounds):
                    ours.append(run_agentdeck(root, repo, n, args.warmup, args.window))
                    anchor.append(run_tmux(root, n, args.warmup, args.window))
                    print(f"  {n} {kind}: agentdeck {ours[-1][0]:.1f} %, tmux "
                          f"{anchor[-1][0]:.1f} % (load {os.getloadavg()[0]:.1f})",
                          file=sys.stderr, flush=True)
                results.append((n, kind, ours, anchor))
    print(load_average("end"))
    print(f"CPU, % of one core, median (range) of {args.rounds} alternated rounds, "
          f"{args.window:.0f} s windows; each agent offered {RATE / 1000:.0f} KB/s")
    for n, kind, ours, anchor in results:
        ratios = [o[0] / max(a[0], 0.01) for o, a in zip(ours, anchor, strict=True)]
        target = targets.get(n)
        print(f"  {n:>2} agents, {kind:<7}: agentdeck (dashboard + session host) "
              f"{spread([o[0] for o in ours])} %, tmux (server + client) "
              f"{spread([a[0] for a in anchor])} % -> {spread(ratios)}x tmux"
              + (f" (target <= {target:.0f}x)" if target else ""))
        print(f"      split: dashboard {spread([o[3][0] for o in ours])} %, session host "
              f"{spread([o[3][1] for o in ours if len(o[3]) > 1])} %; tmux server "
              f"{spread([a[3][0] for a in anchor])} %, client "
              f"{spread([a[3][1] for a in anchor])} %")
        print(f"      agents' own CPU: agentdeck {spread([o[1] for o in ours])} %, tmux "
              f"{spread([a[1] for a in anchor])} %; KB/s each got out: agentdeck "
              f"{spread([o[2] for o in ours])}, tmux {spread([a[2] for a in anchor])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
