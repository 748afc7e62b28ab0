"""Issue 13 and 32 bench: prompt -> queue latency with streaming agents, as users live with it:
through the session host daemon with a real dashboard attached (mirroring every agent), and
in-process beside it (target: p95 < 30 ms through the session host with 40 agents).

The agents stream ~50 KB/s each and print a permission prompt every 0.3 s; each logs when it
printed the prompt (P) and when the answer reached it (K). Measured: p95 from a prompt's bytes
written to its queue entry appearing (PTY reader -> emulator -> detector -> queue -> the queue's
push to an attached client), answered as a person would (after approvals.SETTLE). The anchor,
in the same run: the same programs read by one raw `select` loop that only searches each read
for "[y/n]" — the least any watcher can take — so the ratio says what agentdeck's emulation,
detection, queue and session host add. The contenders alternate round by round.

    python bench/queue_latency.py [--agents 40] [--prompts 6] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard import AGENTDECK, Running, load_average, make_repo, prompt_times
from terminal import STREAMER, latency, p95  # bench/terminal.py, the same folder

from agentdeck.core.errors import OperationError
from agentdeck.core.oversight.approvals import SETTLE
from agentdeck.daemon import lifecycle
from agentdeck.daemon.client import RemoteQueue

# the streamer, its marks in a file named by its pid in the folder "marks" beside it (one fleet
# command serves every agent)
FLEET_STREAMER = ("import os, sys\n"
                  "here = os.path.dirname(os.path.abspath(__file__))\n"
                  "os.makedirs(os.path.join(here, 'marks'), exist_ok=True)\n"
                  "sys.argv[1:] = [os.path.join(here, 'marks', f'{os.getpid()}.marks')]\n"
                  + STREAMER)


def through_session_host(agents: int, prompts: int) -> list[float]:
    """Prompt -> queue through the session host daemon with a dashboard attached: the entry
    counts as appeared when the daemon's queue push reaches this second client."""
    with tempfile.TemporaryDirectory(prefix="agentdeck-bench-") as tmp:
        root = Path(tmp)
        repo = make_repo(root, agents, 0)
        (root / "filler.py").write_text(FLEET_STREAMER)
        dash = Running([*AGENTDECK], repo, daemon_of=repo)
        try:
            host = lifecycle.ensure(repo / ".git" / "agentdeck", None)
            deadline = time.time() + 180
            while len(list((root / "marks").glob("*.marks"))) < agents:
                if time.time() > deadline:
                    raise SystemExit("the agents did not all start in time")
                time.sleep(0.2)
            appeared: dict[int, float] = {}
            before = {entry["id"] for entry in host.queue_state["pending"]}

            def seen(state: dict[str, object]) -> None:
                now = time.time()
                for entry in state["pending"]:  # type: ignore[attr-defined]
                    if entry["id"] not in before:  # (asked before this client listened)
                        appeared.setdefault(entry["id"], now)

            host.on_queue(seen)  # on the reader thread, as the push comes (before the queue)
            queue = RemoteQueue(host)
            sent: dict[str, list[tuple[int, float]]] = {}
            deadline = time.time() + 180
            while sum(len(v) for v in sent.values()) < agents * prompts and \
                    time.time() < deadline:
                for entry in queue.pending():
                    if time.monotonic() - entry.created < SETTLE:
                        continue
                    at = time.time()
                    try:
                        queue.answer(entry.id, "allow")
                    except OperationError:
                        continue
                    # (the n-th answer answers the n-th prompt printed: the ones asked before
                    # this client listened count too, untimed)
                    sent.setdefault(entry.agent, []).append((entry.id, at))
                time.sleep(0.002)
            pids = {name: host.info(name).pid for name in sent}
            host.close()
        finally:
            dash.close()
        out = []
        for name, answers in sent.items():
            p_times = prompt_times(root / "marks" / f"{pids[name]}.marks")
            for (entry_id, _at), p_time in zip(answers, p_times, strict=False):
                if entry_id in appeared:
                    out.append(appeared[entry_id] - p_time)
        return out


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
        p_times = prompt_times(tmp / f"r{i}.marks")
        out += [s - p for s, p in zip(seen[i], p_times, strict=False)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--prompts", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(load_average("start"))
    daemon, local, anchor = [], [], []
    for _ in range(args.rounds):
        daemon.append(p95(through_session_host(args.agents, args.prompts)))
        local.append(p95(latency(args.agents, args.prompts)[0]))
        anchor.append(p95(raw_watch(args.agents, args.prompts)))
    print(load_average("end"))

    def ms(values: list[float]) -> str:
        return (f"{statistics.median(values) * 1000:.1f} ms ({min(values) * 1000:.1f}-"
                f"{max(values) * 1000:.1f})")

    print(f"{args.agents} agents at ~50 KB/s, prompt -> queue p95, median (range) of "
          f"{args.rounds} alternated rounds:")
    print(f"  through the session host, a dashboard attached: {ms(daemon)} (target < 30 ms)")
    print(f"  in-process: {ms(local)}")
    print(f"  raw select loop finding '[y/n]': {ms(anchor)}; ratio "
          f"{statistics.median(daemon) / statistics.median(anchor):.1f}x the raw watcher")


if __name__ == "__main__":
    main()
