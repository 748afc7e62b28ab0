"""Issue 6 bench: the session host daemon.

(1) Reattach: 10 agents that each printed 10,000+ lines; a new dashboard connects and mirrors
    every screen (the daemon's replay of the screen and the grid's last lines, fed into its own
    emulators; the scrollback stays in the daemon). Target < 500 ms; beside the naive way,
    every byte each agent printed fed into a fresh emulator (ratio). Then the first step back
    into one agent's scrollback: all 10,000 lines fetched into a still copy.
(2) Throughput: a flooding agent (20 MB of mixed ANSI) through the daemon to an attached
    dashboard's mirror, vs the in-process host in the same run (ratio; target >= 0.8).
(3) The daemon's RSS with those 10 agents.
(4) The same fleet restored: the daemon stopped (the agents end with it) and started again, its
    agents shown as they ended from their transcripts: its RSS beside the live fleet's of (3)
    (target: no more).

    python bench/reattach.py [--agents 10] [--lines 10000] [--mb 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from terminal import mixed_ansi, writer_program

from agentdeck.core.agents.sessions import LocalHost, SessionSpec
from agentdeck.core.screen.terminal import make_emulator
from agentdeck.daemon import lifecycle

FILLER = ("import sys, time\n"
          "for i in range(int(sys.argv[1])):\n"
          "    print(f'\\x1b[3{i % 8}m{i:6d}\\x1b[0m compiling src/module_{i % 97}.py ... ok')\n"
          "print('idle> ', end='', flush=True)\n"
          "time.sleep(10**6)\n")


def spec(name: str, argv: list[str], cols: int = 120, rows: int = 40) -> SessionSpec:
    return SessionSpec(name, argv, "/", dict(os.environ), cols=cols, rows=rows,
                       scrollback=10_000)


def reattach(state: Path, agents: int, lines: int) -> tuple[float, float, int, float]:
    filler = state.parent / "filler.py"
    filler.write_text(FILLER)
    host = lifecycle.ensure(state, None)
    for i in range(agents):
        host.spawn(spec(f"a{i}", [sys.executable, str(filler), str(lines)]))
    for i in range(agents):
        host.wait_for(f"a{i}", lambda info: info.state == "idle", timeout=120)
    rss = psutil.Process(host.daemon_pid).memory_info().rss
    host.close()
    times, backs = [], []
    for _ in range(5):
        start = time.perf_counter()
        again = lifecycle.ensure(state, None)
        for i in range(agents):
            again.attach(f"a{i}")
        times.append(time.perf_counter() - start)
        # a mirror holds the screen and the grid's last lines: the first step back into the
        # scrollback fetches the whole of it, once
        start = time.perf_counter()
        with again.scrollback("a0") as copy:
            assert len(copy.history()) >= min(lines, 10_000) - 100
        backs.append(time.perf_counter() - start)
        again.close()
    # baseline: the naive reattach, every byte each agent printed fed again into a fresh
    # emulator (its transcript), in this process
    logs = [(state / "transcripts" / f"a{i}.log").read_bytes() for i in range(agents)]
    start = time.perf_counter()
    for data in logs:
        make_emulator(120, 40, 10_000).feed(data)
    baseline = time.perf_counter() - start
    return statistics.median(times), baseline, rss, statistics.median(backs)


def restored(state: Path, agents: int) -> int:
    """The daemon's RSS once it has shown a stopped fleet again from its transcripts."""
    lifecycle.stop(state)
    host = lifecycle.ensure(state, None)  # (it restores every agent before it serves)
    assert sum(info.process == "exited" for info in host.sessions()) == agents
    rss = psutil.Process(host.daemon_pid).memory_info().rss
    host.close()
    return rss


def flood(state: Path, mb: float) -> tuple[float, float]:
    path = state.parent / "flood.bin"
    path.write_bytes(mixed_ansi(int(mb * 1_000_000)))
    local_times, daemon_times = [], []
    for _ in range(3):
        local = LocalHost()
        start = time.perf_counter()
        local.spawn(spec("flood", writer_program(path)))
        local.wait_for("flood", lambda i: i.process == "exited", timeout=600)
        local_times.append(time.perf_counter() - start)
        local.close()
        host = lifecycle.ensure(state, None)
        start = time.perf_counter()
        host.spawn(spec("flood", writer_program(path)))  # attached: its mirror is fed too
        host.wait_for("flood", lambda i: i.process == "exited", timeout=600)
        daemon_times.append(time.perf_counter() - start)
        host.close()
    return statistics.median(local_times), statistics.median(daemon_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--mb", type=float, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentdeck-bench-") as tmp:
        state = Path(tmp) / "state"
        try:
            took, baseline, rss, back = reattach(state, args.agents, args.lines)
            again = restored(state, args.agents)
            local, remote = flood(state, args.mb)
        finally:
            lifecycle.stop(state)
    print(f"(1) reattach {args.agents} agents x {args.lines:,} lines: {took * 1000:.0f} ms "
          f"(target < 500 ms); feeding every byte they printed into fresh emulators: "
          f"{baseline * 1000:.0f} ms -> ratio {took / max(baseline, 1e-6):.2f}x")
    print(f"    the first step back into one agent's scrollback (fetched whole from the daemon "
          f"into a still copy): {back * 1000:.0f} ms")
    print(f"(2) {args.mb:.0f} MB flood: in-process {args.mb / local:.1f} MB/s, through the "
          f"daemon to an attached mirror {args.mb / remote:.1f} MB/s -> ratio "
          f"{local / remote:.2f} (target >= 0.8)")
    print(f"(3) daemon RSS with {args.agents} agents of {args.lines:,} lines: "
          f"{rss / 2**20:.0f} MB")
    print(f"(4) the same fleet restored from its transcripts after `daemon stop`: "
          f"{again / 2**20:.0f} MB -> {again / rss:.2f}x the live fleet (target <= 1.0)")


if __name__ == "__main__":
    main()
