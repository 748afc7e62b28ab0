"""Issue 4 bench (c) and (d): the dashboard's own cost with 10 agents.

(c) CPU of the dashboard and its session host daemon (the agents themselves are separate
    processes and not counted) with 10 idle agents, over a quiet window, as % of one core
    (target < 2 %), and as a ratio against a bare Textual app measured the same way.
(d) Memory per agent with a full 10,000-line scrollback: dashboard + daemon RSS with 10 agents
    that each printed 10,000 lines, minus the same with 10 agents that printed nothing, divided
    by 10 (each screen lives twice: in the daemon and in the dashboard's mirror); shown beside
    the size of the text each agent printed (ratio).

The dashboard runs for real, in a PTY, as a user runs it: `agentdeck -f fleet.yaml`.

    python bench/dashboard.py [--agents 10] [--lines 10000] [--window 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pexpect
import psutil

ROOT = Path(__file__).resolve().parents[1]
AGENTDECK = [sys.executable, "-m", "agentdeck"]

FILLER = textwrap.dedent("""\
    import sys, time
    n = int(sys.argv[1])
    for i in range(n):
        print(f"\\x1b[32m{i:6d}\\x1b[0m compiling src/module_{i % 97}.py ... ok "
              f"({i * 7 % 1000} ms)")
    sys.stdout.flush()
    print("idle> ", end="", flush=True)
    time.sleep(10**9)
""")

BARE_APP = textwrap.dedent("""\
    from textual.app import App
    from textual.widgets import Footer, Header
    class Bare(App):
        BINDINGS = [("q", "quit", "Quit")]
        def compose(self):
            yield Header()
            yield Footer()
    Bare().run()
""")


def load_average(when: str) -> str:
    """The load average line every bench prints beside its figures ("at start", "at end")."""
    return (f"load average at {when}: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
            f"({os.cpu_count()} cores)")


def prompt_times(marks: Path) -> list[float]:
    """When a scripted agent printed each prompt: its marks file's "P <time>" lines."""
    return [float(m[2:]) for m in marks.read_text().split("\n") if m.startswith("P ")]


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_repo(root: Path, agents: int, lines: int, files: int = 0) -> Path:
    """A repository (with `files` small source files) whose fleet runs `agents` fillers that
    each print `lines` lines and then idle, their workspaces made."""
    repo = root / "app"
    repo.mkdir()
    env_fix = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
               "GIT_COMMITTER_EMAIL": "b@b"}
    os.environ.update(env_fix)
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("bench\n")
    for i in range(files):
        path = repo / "src" / f"pkg{i % 50}" / f"mod{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"VALUE_{i} = {i}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    filler = root / "filler.py"
    filler.write_text(FILLER)
    names = "\n".join(f"  - {{name: a{i}, agent: filler, branch: b{i}}}" for i in range(agents))
    (repo / "agentdeck.yaml").write_text(
        f"version: 1\nworktrees: ../wt-{{name}}\n"
        f"commands:\n  filler: {sys.executable} {filler} {lines}\n"
        f"agents:\n{names}\n"
        "dashboard: {bell: false}\n")
    subprocess.run([*AGENTDECK, "up", "--no-start"], cwd=repo, check=True, capture_output=True)
    return repo


class Running:
    """A program in a PTY whose output is drained (a terminal that never reads would block it).
    With `daemon_of`, the session host daemon of that repository is counted with it."""

    def __init__(self, argv: list[str], cwd: Path, daemon_of: Path | None = None) -> None:
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        self.child = pexpect.spawn(argv[0], argv[1:], cwd=str(cwd), env=env,
                                   dimensions=(50, 200), echo=False)
        self.proc = psutil.Process(self.child.pid)
        self.repo = daemon_of
        self.daemon: psutil.Process | None = None
        self._stop = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                self.child.read_nonblocking(1 << 16, timeout=0.2)
            except pexpect.TIMEOUT:
                continue
            except (pexpect.EOF, OSError):
                return

    def procs(self) -> list[psutil.Process]:
        if self.repo is not None and self.daemon is None:
            pid_file = self.repo / ".git" / "agentdeck" / "daemon.pid"
            if pid_file.exists():
                self.daemon = psutil.Process(int(pid_file.read_text()))
        return [self.proc] + ([self.daemon] if self.daemon else [])

    def cpu(self, window: float) -> float:
        """% of one core used over `window` seconds (dashboard and daemon together)."""
        procs = self.procs()
        before = [p.cpu_times() for p in procs]
        time.sleep(window)
        after = [p.cpu_times() for p in procs]
        used = sum((a.user - b.user) + (a.system - b.system) for a, b in zip(after, before,
                                                                             strict=True))
        return 100.0 * used / window

    def rss(self) -> tuple[int, int]:
        """(dashboard, daemon) resident memory."""
        procs = self.procs()
        sizes = [int(p.memory_info().rss) for p in procs]
        return sizes[0], sizes[1] if len(sizes) > 1 else 0

    def settle(self, quiet: float = 1.0, limit: float = 60.0) -> None:
        """Wait until the process has used almost no CPU for `quiet` seconds."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and self.cpu(quiet) > 5.0:
            pass

    def close(self) -> None:
        self._stop.set()
        self.child.sendcontrol("c")
        self.child.terminate(force=True)
        if self.repo is not None:  # the agents live in the daemon: stop it too
            subprocess.run([*AGENTDECK, "daemon", "stop"], cwd=self.repo, capture_output=True)


def dashboard(root: Path, agents: int, lines: int) -> Running:
    repo = make_repo(root, agents, lines)
    run = Running(AGENTDECK, repo, daemon_of=repo)
    time.sleep(3)  # agents starting, output flowing
    run.settle()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentdeck-bench-") as tmp:
        root = Path(tmp)
        (root / "bare.py").write_text(BARE_APP)
        bare = Running([sys.executable, str(root / "bare.py")], root)
        time.sleep(2)
        bare.settle()
        bare_cpu = bare.cpu(args.window)
        bare.close()

        (root / "quiet").mkdir()
        quiet = dashboard(root / "quiet", args.agents, 0)
        idle_cpu = quiet.cpu(args.window)
        ui_quiet, host_quiet = quiet.rss()
        quiet.close()

        (root / "full").mkdir()
        full = dashboard(root / "full", args.agents, args.lines)
        full_cpu = full.cpu(args.window)
        ui_full, host_full = full.rss()
        full.close()

    sample = "".join(f"\x1b[32m{i:6d}\x1b[0m compiling src/module_{i % 97}.py ... ok "
                     f"({i * 7 % 1000} ms)\n" for i in range(args.lines))
    printed = len(sample.encode())
    per_agent = (ui_full + host_full - ui_quiet - host_quiet) / args.agents
    print(f"(c) dashboard + session host daemon CPU, {args.agents} idle agents: "
          f"{idle_cpu:.2f} % of a core "
          f"(with full scrollbacks: {full_cpu:.2f} %); bare Textual app: {bare_cpu:.2f} % "
          f"-> ratio {idle_cpu / max(bare_cpu, 0.01):.2f}x  (target < 2 %)")
    print(f"(d) memory per agent with {args.lines:,} lines of scrollback: "
          f"{per_agent / 2**20:.2f} MB, daemon and dashboard mirror together (dashboard "
          f"{ui_quiet / 2**20:.0f} -> {ui_full / 2**20:.0f} MB, daemon {host_quiet / 2**20:.0f} "
          f"-> {host_full / 2**20:.0f} MB); the agent printed {printed / 2**20:.2f} MB -> ratio "
          f"{per_agent / printed:.2f}x")


if __name__ == "__main__":
    main()
