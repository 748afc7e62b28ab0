"""Issue 31 bench: prompt -> phone push latency, as users live with it: agents streaming
through the session host daemon with a dashboard attached and `agentdeck serve` running in the
background (so each push carries its Allow / Deny actions), `notify: {after: 0}`, a local
HTTP server playing ntfy (target: p95 < 500 ms with 10 agents).

The agents stream ~50 KB/s each and print a permission prompt 0.3 s after each answer; each
logs when it printed the prompt (P). Measured: from a prompt's bytes written to its ntfy POST
arriving at the stand-in (PTY reader -> emulator -> detector -> queue -> alert -> capability
-> POST), answered as the phone would: a tap on the push's Allow action, through serve. The
anchor, in the same run: the same programs read by one raw `select` loop that POSTs to the
same stand-in when a read holds "[y/n]" — the least any watcher that pushes can take — so the
ratio says what agentdeck adds. The contenders alternate round by round.

    python bench/push_latency.py [--agents 10] [--prompts 6] [--rounds 3]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pty
import re
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard import AGENTDECK, Running, load_average, make_repo, prompt_times
from queue_latency import FLEET_STREAMER  # the same folder
from terminal import STREAMER, p95  # the same folder

from agentdeck.daemon import lifecycle

ACTION = re.compile(r"http, Allow, (\S+), method=POST")


class StandIn:  # ntfy's
    """A local HTTP server that keeps each POST's arrival time and headers; `tap` answers a
    push's Allow action as the phone would (on a thread of its own)."""

    def __init__(self, tap: bool) -> None:
        self.posts: list[tuple[float, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        stand = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                at = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with stand.lock:
                    stand.posts.append((at, dict(self.headers), body))
                self.send_response(200)
                self.end_headers()
                action = ACTION.search(self.headers.get("Actions", ""))
                if tap and action:
                    threading.Thread(target=_post, args=(action.group(1),), daemon=True).start()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def of(self, agent: str) -> list[float]:
        """The arrival times of the pushes about `agent`'s prompts."""
        with self.lock:
            return [at for at, headers, _ in self.posts
                    if headers.get("Title", "").startswith(f"agentdeck: {agent} waits")]

    def close(self) -> None:
        self.server.shutdown()


def _post(url: str) -> None:
    with contextlib.suppress(OSError):  # (refused: answered already)
        urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def through_session_host(agents: int, prompts: int) -> list[float]:
    stand = StandIn(tap=True)
    with tempfile.TemporaryDirectory(prefix="agentdeck-bench-") as tmp:
        root = Path(tmp)
        repo = make_repo(root, agents, 0)
        (root / "filler.py").write_text(FLEET_STREAMER)
        fleet = repo / "agentdeck.yaml"
        fleet.write_text(fleet.read_text() + (
            f"notify: {{after: 0, events: [waiting], ntfy: {{topic: bench, server: "
            f"'http://127.0.0.1:{stand.port}'}}}}\n"))
        served = subprocess.run([*AGENTDECK, "serve", "--background", "--port",
                                 str(_free_port())], cwd=repo, capture_output=True, text=True)
        if served.returncode:
            raise SystemExit(f"agentdeck serve: {served.stderr}")
        dash = Running([*AGENTDECK], repo, daemon_of=repo)  # it starts the agents
        names = [f"a{i}" for i in range(agents)]
        try:
            deadline = time.time() + 240
            while not all(len(stand.of(name)) >= prompts for name in names):
                if time.time() > deadline:
                    raise SystemExit("the pushes did not all come in time")
                time.sleep(0.1)
            host = lifecycle.ensure(repo / ".git" / "agentdeck", None)
            pids = {name: host.info(name).pid for name in names}
            host.close()
        finally:
            dash.close()
            subprocess.run([*AGENTDECK, "daemon", "stop"], cwd=repo, capture_output=True)
            stand.close()
        # (each agent's marks are in a file named by its pid; the n-th push about an agent is
        # about its n-th prompt: each is answered through the push before the next is asked)
        out = []
        for name, pid in pids.items():
            p_times = prompt_times(root / "marks" / f"{pid}.marks")
            out += [at - p for at, p in zip(stand.of(name), p_times, strict=False)]
        return out


def raw_watch(agents: int, prompts: int) -> list[float]:
    """The anchor: pty.openpty + one select loop, a prompt pushed (POSTed to the stand-in)
    when its read holds "[y/n]", then answered."""
    stand = StandIn(tap=False)
    url = f"http://127.0.0.1:{stand.port}/bench"
    tmp = Path(tempfile.mkdtemp())
    script = tmp / "stream.py"
    script.write_text(STREAMER)
    procs, fds = [], {}
    for i in range(agents):
        master, slave = pty.openpty()
        procs.append(subprocess.Popen([sys.executable, str(script), str(tmp / f"r{i}.marks")],
                                      stdin=slave, stdout=slave, stderr=slave, close_fds=True))
        os.close(slave)
        fds[master] = i
    deadline = time.time() + 120
    while min(len(stand.of(f"r{i}")) for i in range(agents)) < prompts and \
            time.time() < deadline:
        ready, _, _ = select.select(list(fds), [], [], 0.5)
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:
                continue
            if b"[y/n]" in data:
                name = f"r{fds[fd]}"
                urllib.request.urlopen(urllib.request.Request(
                    url, data=b"waits", headers={"Title": f"agentdeck: {name} waits"}),
                    timeout=10)
                os.write(fd, b"y")
    for proc in procs:
        proc.kill()
    stand.close()
    out = []
    for i in range(agents):
        p_times = prompt_times(tmp / f"r{i}.marks")
        out += [at - p for at, p in zip(stand.of(f"r{i}"), p_times, strict=False)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--prompts", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(load_average("start"))
    ours, anchor = [], []
    for _ in range(args.rounds):
        ours.append(p95(through_session_host(args.agents, args.prompts)))
        anchor.append(p95(raw_watch(args.agents, args.prompts)))
    print(load_average("end"))

    def ms(values: list[float]) -> str:
        return (f"{statistics.median(values) * 1000:.1f} ms ({min(values) * 1000:.1f}-"
                f"{max(values) * 1000:.1f})")

    print(f"{args.agents} agents at ~50 KB/s, prompt -> ntfy POST p95, median (range) of "
          f"{args.rounds} alternated rounds:")
    print(f"  through the session host (notify.after 0, serve running, a dashboard attached, "
          f"answered by the push's Allow): {ms(ours)} (target < 500 ms)")
    print(f"  raw select loop POSTing on '[y/n]': {ms(anchor)}; ratio "
          f"{statistics.median(ours) / statistics.median(anchor):.1f}x the raw watcher")


if __name__ == "__main__":
    main()
