"""Issue 18 bench: agents on another host, through ssh to this machine (a real sshd started for
the run, as the tests start it), against the same through this machine's session host — both
measured in the same run, rounds alternating.

(1) Prompt -> queue: an agent draws a permission prompt when told to; the time from telling it
    (a keystroke sent by the dashboard's side) to the prompt's entry in the dashboard's queue.
    p95 over --prompts prompts. Target: remote p95 <= 2x local.
(2) Throughput: the same 20 MB of mixed ANSI printed by an agent, until the last byte is in the
    dashboard's mirror of its screen. Target: remote >= 0.5x local.

    python bench/remote.py [--mb 20] [--prompts 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reattach import spec
from terminal import mixed_ansi, writer_program

from agentdeck.core.agents.sessions import SessionHost
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.core.oversight.approvals import QueueView
from agentdeck.daemon import lifecycle
from agentdeck.daemon.client import RemoteHost, RemoteQueue
from agentdeck.daemon.ssh_link import SshLink
from tests.sshd import start_sshd

# Draws a Claude Code-like permission dialog each time a line arrives, then waits for its answer.
ASKER = """\
import sys, termios, tty
n = 0
while True:
    sys.stdin.readline()
    n += 1
    sys.stdout.write("\\r\\n Bash command\\r\\n\\r\\n   echo step-%d\\r\\n   Run it\\r\\n\\r\\n"
                     " Do you want to proceed?\\r\\n > 1. Yes\\r\\n   2. No\\r\\n\\r\\n"
                     " Esc to cancel\\r\\n" % n)
    sys.stdout.flush()
    old = termios.tcgetattr(0)
    tty.setraw(0)
    sys.stdin.read(1)
    termios.tcsetattr(0, termios.TCSADRAIN, old)
    sys.stdout.write("\\x1b[2J\\x1b[Hdone %d\\r\\n> " % n)
    sys.stdout.flush()
"""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def latencies(host: SessionHost, queue: QueueView, name: str, prompts: int) -> list[float]:
    changed = threading.Event()
    queue.on_change(changed.set)
    host.wait_for(name, lambda i: i.process == "running", timeout=30)
    out = []
    for _ in range(prompts):
        changed.clear()
        start = time.perf_counter()
        host.write(name, b"\n")
        while not any(e.agent == name for e in queue.pending()):
            changed.wait(30)
            changed.clear()
        out.append(time.perf_counter() - start)
        entry = next(e for e in queue.pending() if e.agent == name)
        queue.answer(entry.id, "allow")
        while any(e.agent == name for e in queue.pending()):
            changed.wait(30)
            changed.clear()
    return out


def flood(host: SessionHost, attach: RemoteHost, path: Path, name: str) -> float:
    start = time.perf_counter()
    host.spawn(spec(name, writer_program(path)))
    attach.attach(name)  # the dashboard's mirror: every byte goes to it
    host.wait_for(name, lambda i: i.process == "exited", timeout=600)
    elapsed = time.perf_counter() - start
    host.forget(name)
    return elapsed


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=20)
    parser.add_argument("--prompts", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        here, there = root / "app", root / "box1-app"
        server = start_sshd(root / "sshd")
        links: list[SshLink] = []
        try:
            for clone in (here, there):
                clone.mkdir()
                git(clone, "init", "-q", "-b", "main")
                git(clone, "-c", "user.email=b@b", "-c", "user.name=b", "commit", "-q",
                    "--allow-empty", "-m", "first")
            (root / "asker.py").write_text(ASKER)
            (root / "flood.bin").write_bytes(mixed_ansi(int(args.mb * 1_000_000)))
            (here / "agentdeck.yaml").write_text(
                "hosts:\n  box1:\n"
                f"    ssh: {server.alias}\n    repo: {there}\n"
                f"    agentdeck: {shlex.quote(sys.executable)} -m agentdeck\n"
                f"    ssh_options: {json.dumps(server.ssh_options())}\n"
                "agents: []\n")
            fleet = load_fleet(here / "agentdeck.yaml")
            lat: dict[str, list[float]] = {"local": [], "remote": []}
            put: dict[str, list[float]] = {"local": [], "remote": []}
            local = lifecycle.ensure(open_repo(here).state_dir, fleet.path)
            link = SshLink(fleet, fleet.hosts["box1"]).connect()
            links.append(link)
            contenders = {"local": (local, local, RemoteQueue(local)),
                          "remote": (link, link._live(), link.queue)}
            for n in range(args.rounds):
                for label, (host, attach, queue) in contenders.items():
                    name = f"ask{n}"
                    host.spawn(spec(name, [sys.executable, str(root / "asker.py")]))
                    lat[label] += latencies(host, queue, name, args.prompts)
                    host.forget(name)
                    put[label].append(flood(host, attach, root / "flood.bin", f"flood{n}"))
        finally:
            for link in links:
                link.close()
            for clone in (here, there):  # (its session host, and the link's, end with it)
                if (clone / ".git" / "agentdeck").is_dir():
                    lifecycle.stop(open_repo(clone).state_dir)
            server.stop()
    local_p95, remote_p95 = p95(lat["local"]), p95(lat["remote"])
    print(f"prompt -> queue p95 over {len(lat['local'])} prompts: local {local_p95 * 1000:.1f} ms, "
          f"through ssh {remote_p95 * 1000:.1f} ms; ratio {remote_p95 / local_p95:.2f}x "
          "(target <= 2x)")
    mb = args.mb
    local_t, remote_t = statistics.median(put["local"]), statistics.median(put["remote"])
    print(f"{mb:g} MB to the dashboard's mirror: local {mb / local_t:.1f} MB/s "
          f"(range {mb / max(put['local']):.1f}-{mb / min(put['local']):.1f}), through ssh "
          f"{mb / remote_t:.1f} MB/s (range {mb / max(put['remote']):.1f}-"
          f"{mb / min(put['remote']):.1f}); ratio {local_t / remote_t:.2f}x (target >= 0.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
