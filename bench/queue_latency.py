"""Issue 13 bench: prompt -> queue latency with 20 agents (target: p95 < 50 ms).

Twenty agents stream ~50 KB/s each and print a permission prompt every 0.3 s; each logs when it
printed the prompt (P) and when the answer reached it (K). Measured: p95 from a prompt's bytes
written to its queue entry appearing (PTY reader -> emulator -> detector -> queue), answered as a
person would (after approvals.SETTLE). The anchor, in the same run: the same twenty programs read
by one raw `select` loop that only searches each read for "[y/n]" — the least any watcher can
take — so the ratio says what agentdeck's emulation, detection and queue add.

    python bench/queue_latency.py [--agents 20] [--prompts 6]
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from terminal import STREAMER, latency, p95  # bench/terminal.py, the same folder


def raw_watch(agents: int, prompts: int) -> list[float]:
    """The anchor: pty.openpty + one select loop, a prompt seen when its read holds "[y/n]"."""
    tmp = Path(tempfile.mkdtemp())
    script = tmp / "stream.py"
    script.write_text(STREAMER)
    procs, fds, seen = [], {}, {}
    for i in range(agents):
        master, slave = pty.openpty()
        marks = tmp / f"r{i}.marks"
        procs.append(subprocess.Popen([sys.executable, str(script), str(marks)], stdin=slave,
                                      stdout=slave, stderr=slave, close_fds=True))
        os.close(slave)
        fds[master] = i
        seen[i] = []
    deadline = time.time() + 120
    while min(len(v) for v in seen.values()) < prompts and time.time() < deadline:
        ready, _, _ = select.select(list(fds), [], [], 0.5)
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                continue
            if b"[y/n]" in data:
                seen[fds[fd]].append(time.time())
                os.write(fd, b"y")
    for proc in procs:
        proc.kill()
    out = []
    for i in range(agents):
        marks = (tmp / f"r{i}.marks").read_text().split("\n")
        p_times = [float(m[2:]) for m in marks if m.startswith("P ")]
        out += [s - p for s, p in zip(seen[i], p_times, strict=False)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--prompts", type=int, default=6)
    args = parser.parse_args()
    anchor = p95(raw_watch(args.agents, args.prompts))
    ours, _keys = latency(args.agents, args.prompts)
    ours_p95 = p95(ours)
    print(f"{args.agents} agents at ~50 KB/s: prompt -> queue p95 {ours_p95 * 1000:.1f} ms "
          f"(n={len(ours)}, target < 50 ms); raw select loop finding '[y/n]' p95 "
          f"{anchor * 1000:.1f} ms; ratio {ours_p95 / anchor:.1f}x the raw watcher")


if __name__ == "__main__":
    main()
