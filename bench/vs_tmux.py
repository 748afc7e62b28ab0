"""Issue 16 bench: agentdeck's terminals against tmux, the terminal anchor, in the same run.

(1) Throughput, on two floods of 20 MB each: "short" (short coloured lines that never wrap:
    one tmux handles slowly) and "wrapping" (long lines that wrap, progress lines redrawn in
    place, a status block redrawn with cursor moves), through (i) a raw PTY drain (no close
    delay: pexpect's 0.1 s is skipped, as agentdeck's sessions skip it), (ii) a tmux pane,
    (iii) agentdeck in-process (PTY -> reader -> emulator), (iv) agentdeck's session host ->
    an attached dashboard's mirror. Targets on both: (iii) >= 1.3x tmux, (iv) >= 1.0x tmux,
    (iii) >= 0.5 of the raw drain. tmux's time ends when the writer has written its last byte
    (tmux then holds at most a PTY buffer's worth unread); agentdeck's when the last byte is
    on the screen it shows.
(2) Memory: RSS per agent with a full 10,000-line scrollback — agentdeck's session host plus
    an attached dashboard (this process, mirroring every agent) against tmux's server, each
    over the same program printing 12,000 lines. Target <= 2x tmux.

Rounds alternate the contenders (this 2-core VM's speed swings between runs); each figure is
the median of the rounds, with its range; the load average is printed with them.

    python bench/vs_tmux.py [--mb 20] [--rounds 3] [--agents 5]
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard import load_average
from reattach import FILLER, spec
from terminal import mixed_ansi, raw_drain, through_session, wrapping_ansi, writer_program

from agentdeck.core.screen.terminal import make_emulator
from agentdeck.daemon import lifecycle

SOCKET = "agentdeck-bench"
LINES = 12_000  # more than the 10,000 both keep


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args], check=True,
                          capture_output=True, text=True).stdout.strip()


def tmux_server(first: str) -> None:
    tmux("start-server", ";", "set-option", "-g", "history-limit", "10000", ";",
         "new-session", "-d", "-x", "120", "-y", "40", "-s", "bench", first)


def through_tmux(path: Path) -> float:
    argv = " ".join(writer_program(path)[:2]) + f" {_quoted(writer_program(path)[2])}"
    start = time.perf_counter()
    tmux_server(f"{argv}; tmux -L {SOCKET} wait-for -S flood-done; sleep 60")
    tmux("wait-for", "flood-done")
    elapsed = time.perf_counter() - start
    tmux("kill-server")
    return elapsed


def _quoted(code: str) -> str:
    return "'" + code.replace("'", "'\\''") + "'"


def through_daemon(state: Path, path: Path) -> float:
    host = lifecycle.ensure(state, None)
    try:
        start = time.perf_counter()
        host.spawn(spec("flood", writer_program(path)))
        host.attach("flood")  # the dashboard's mirror: every byte goes to it too
        host.wait_for("flood", lambda i: i.process == "exited", timeout=600)
        elapsed = time.perf_counter() - start
        host.forget("flood")
    finally:
        host.close()
    return elapsed


FLOODS = {"short": mixed_ansi, "wrapping": wrapping_ansi}


def throughput(mb: float, rounds: int, state: Path, flood: str) -> dict[str, list[float]]:
    path = state.parent / "flood.bin"
    path.write_bytes(FLOODS[flood](int(mb * 1_000_000)))
    make_emulator(120, 40, 100).close()  # the emulator library loaded once, before any timing
    times: dict[str, list[float]] = {"raw": [], "tmux": [], "in-process": [], "daemon": []}
    for _ in range(rounds):
        times["raw"].append(raw_drain(path))
        times["tmux"].append(through_tmux(path))
        times["in-process"].append(through_session(path, None))
        times["daemon"].append(through_daemon(state, path))
    return times


def rss(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


def tmux_memory(agents: int, filler: Path) -> float:
    tmux_server("sleep 600")
    server = int(tmux("display-message", "-p", "#{pid}"))
    before = rss(server)
    for i in range(agents):
        tmux("new-window", "-d", "-t", f"bench:{i + 1}",
             f"{sys.executable} {filler} {LINES}")
    for i in range(agents):  # until each program has printed all and waits (its prompt shows)
        deadline = time.monotonic() + 120
        while "idle>" not in tmux("capture-pane", "-p", "-t", f"bench:{i + 1}"):
            if time.monotonic() > deadline:
                raise SystemExit("tmux did not take the output in time")
            time.sleep(0.05)
    history = int(tmux("display-message", "-p", "-t", "bench:1", "#{history_size}"))
    assert history > 9_000, history  # (tmux trims its history a chunk at a time)
    after = rss(server)
    tmux("kill-server")
    return (after - before) / agents


def agentdeck_memory(agents: int, filler: Path, state: Path) -> tuple[float, float]:
    """Per agent: (the session host's share, the attached dashboard's share)."""
    host = lifecycle.ensure(state, None)
    me = psutil.Process().pid
    gc.collect()
    daemon_before, client_before = rss(host.daemon_pid), rss(me)
    for i in range(agents):
        host.spawn(spec(f"m{i}", [sys.executable, str(filler), str(LINES)]))
    for i in range(agents):
        host.wait_for(f"m{i}", lambda info: info.state == "idle", timeout=120)
        host.attach(f"m{i}")
    gc.collect()
    daemon_share = (rss(host.daemon_pid) - daemon_before) / agents
    client_share = (rss(me) - client_before) / agents
    host.close()
    return daemon_share, client_share


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--agents", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("bench/vs_tmux.py needs tmux (apt-get install tmux)")
    with tempfile.TemporaryDirectory(prefix="agentdeck-bench-") as tmp:
        state = Path(tmp) / "state"
        filler = Path(tmp) / "filler.py"
        filler.write_text(FILLER)
        try:
            print(load_average("start"))
            times = {flood: throughput(args.mb, args.rounds, state, flood) for flood in FLOODS}
            lifecycle.stop(state)
            per_pane = tmux_memory(args.agents, filler)
            daemon_share, client_share = agentdeck_memory(args.agents, filler, state)
        finally:
            lifecycle.stop(state)
            subprocess.run(["tmux", "-L", SOCKET, "kill-server"], capture_output=True)
    mb = args.mb
    print(load_average("end"))
    for flood, timed in times.items():
        speed = {k: [mb / t for t in v] for k, v in timed.items()}
        vs_tmux = {k: [t / o for t, o in zip(timed["tmux"], v, strict=True)]
                   for k, v in timed.items()}
        vs_raw = {k: [r / o for r, o in zip(timed["raw"], v, strict=True)]
                  for k, v in timed.items()}
        print(f"(1) {mb:.0f} MB, {flood} flood, MB/s, median (range) of {args.rounds} "
              "alternated rounds:")
        for key, label in (("raw", "(i) raw PTY drain"), ("tmux", "(ii) tmux pane"),
                           ("in-process", "(iii) agentdeck in-process"),
                           ("daemon", "(iv) agentdeck daemon -> mirror")):
            print(f"    {label:<34} {spread(speed[key])} MB/s, x tmux {spread(vs_tmux[key])}, "
                  f"x raw {spread(vs_raw[key])}")
    print("    targets: (iii) >= 1.3x tmux, (iv) >= 1.0x tmux, (iii) >= 0.5x raw")
    total = daemon_share + client_share
    print(f"(2) RSS per agent with a full 10,000-line scrollback: tmux {per_pane / 2**20:.2f} "
          f"MB; agentdeck {total / 2**20:.2f} MB (session host {daemon_share / 2**20:.2f} + "
          f"dashboard mirror {client_share / 2**20:.2f}) -> {total / max(per_pane, 1):.1f}x "
          "tmux (target <= 2x)")


if __name__ == "__main__":
    main()
