"""What a new user meets first, tried as they would: `agentdeck demo` runs its agents in the
session host like real use (quit, `agentdeck logs`, `agentdeck` again: the same agents, screens
and prompts; where it lives said after the dashboard and in `?`); `doctor` checks the fleet's
own commands; a command relative to the worktree runs; a mistyped command gets the nearest
one; a repository without a fleet file is told so and left without a session host; inotify's
limits reached are explained. Real PTYs, the real CLI, a real daemon."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from agentdeck.core.git.repo import open_repo
from agentdeck.core.screen.terminal import make_emulator
from agentdeck.daemon import lifecycle
from tests.conftest import assert_one_line_error, make_repo, run_agentdeck, wait, write_fleet


class Tty:
    """The CLI in a real terminal (a PTY, 120x40), its screen kept by agentdeck's emulator."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.child = pexpect.spawn(sys.executable, ["-m", "agentdeck", *args], cwd=str(cwd),
                                   env={**os.environ, "TERM": "xterm-256color", **(env or {})},
                                   dimensions=(40, 120))
        self.screen = make_emulator(120, 40, 1000)
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.child.read_nonblocking(65536, timeout=None)
            except (pexpect.EOF, OSError):
                return
            with self.lock:
                self.screen.feed(data)

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.screen.lines())

    def shows(self, *needles: str) -> bool:
        """Each needle is on the screen (a long one wrapped at the terminal's edge too)."""
        with self.lock:
            lines = self.screen.lines()
        text, wrapped = "\n".join(lines), "".join(line.ljust(120) for line in lines)
        return all(needle in text or needle in wrapped for needle in needles)

    def ended(self) -> int:
        """Wait for it to exit; its exit status."""
        wait(lambda: not self.child.isalive(), "the program to exit", timeout=30)
        self.reader.join(10)
        self.child.close()
        return int(self.child.exitstatus if self.child.exitstatus is not None else -1)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "demo"
    yield where
    state = where / "shop" / ".git" / "agentdeck"
    if state.exists():
        lifecycle.stop(state)


def test_the_demo_runs_as_real_use_does_and_comes_back_after_quitting(demo: Path) -> None:
    speed = {"AGENTDECK_DEMO_SPEED": "0.02"}
    first = Tty(["demo", "--dir", str(demo)], demo.parent, speed)
    shop = demo / "shop"
    wait(lambda: first.shows("3 waiting"), "the demo's three prompts on the dashboard", 90)
    host = lifecycle.connect(open_repo(shop).state_dir)  # its agents are the session host's
    assert host is not None
    try:
        wait(lambda: len(host.queue_state["pending"]) == 3, "the session host's three prompts")
        pids = {i.name: i.pid for i in host.sessions()}
        prompts = {e["id"]: e["agent"] for e in host.queue_state["pending"]}
        screens = {name: host.snapshot(name) for name in pids}
    finally:
        host.close()
    assert set(pids) == {"lead", "auth", "payments", "search"}
    first.child.send("?")  # the help screen says where the demo lives
    wait(lambda: first.shows("agentdeck demo: it lives in", f"cd {shop}"),
         "the demo's place in help")
    first.child.send("\x1b")
    wait(lambda: not first.shows("it lives in"), "the help screen closed")
    first.child.send("q")
    assert first.ended() == 0
    # said after the dashboard, where it stays on the terminal
    assert first.shows(f"agentdeck demo: it lives in {shop}", f"rm -rf {demo}")

    logs = run_agentdeck("logs", "auth", cwd=shop)
    assert logs.code == 0 and "Do you want to proceed?" in logs.out, logs.err
    again = Tty([], shop)
    wait(lambda: again.shows("3 waiting", "Do you want to proceed?"), "the same dashboard")
    host = lifecycle.connect(open_repo(shop).state_dir)
    assert host is not None
    try:
        assert {i.name: i.pid for i in host.sessions()} == pids  # the same processes
        assert {e["id"]: e["agent"] for e in host.queue_state["pending"]} == prompts
        assert {name: host.snapshot(name) for name in pids} == screens
    finally:
        host.close()
    again.child.send("q")
    assert again.ended() == 0
    assert again.shows(f"agentdeck demo: it lives in {shop}")


def test_a_repository_without_a_fleet_file_is_told_so_and_left_alone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    tty = Tty([], repo)
    assert tty.ended() == 2
    assert tty.shows("agentdeck: error: no agentdeck.yaml here")
    state = open_repo(repo).state_dir
    assert lifecycle.connect(state) is None  # no session host was left behind
    assert not (state / "daemon.pid").exists()
    # nor by a start refused for want of agents, or of the one named
    assert_one_line_error(run_agentdeck("start", cwd=repo), 2, "no agents yet")
    write_fleet(repo, "version: 1\nworktrees: ../wt-{name}\nagents: [{name: w}]\n")
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    assert_one_line_error(run_agentdeck("start", "ghost", cwd=repo), 2, "no agent named ghost")
    assert lifecycle.connect(state) is None and not (state / "daemon.pid").exists()


def test_a_mistyped_command_gets_the_nearest_one(tmp_path: Path) -> None:
    assert_one_line_error(run_agentdeck("sattus", cwd=tmp_path), 2,
                          "no command 'sattus': did you mean `agentdeck daemon status`?")
    assert_one_line_error(run_agentdeck("lgos", "auth", cwd=tmp_path), 2,
                          "did you mean `agentdeck logs`?")
    assert_one_line_error(run_agentdeck("completion", "bsh", cwd=tmp_path), 2,
                          "no choice 'bsh': did you mean `agentdeck completion bash`?")
    nothing_near = run_agentdeck("xyzzy", cwd=tmp_path)
    assert_one_line_error(nothing_near, 2, "invalid choice: 'xyzzy' (choose from 'up'")


ASKER = "#!/bin/sh\necho \"asked from $PWD\"\nexec sleep 60\n"
FAKE_CLAUDE = "#!/bin/sh\necho '9.9.9 (Claude Code)'\n"


def test_doctor_checks_the_fleets_commands_and_a_worktree_command_runs(tmp_path: Path) -> None:
    """The fleet points claude at a binary off PATH, and its own kind `asker` at a script of
    the repository (`./ask.sh`): doctor finds both (and says what is wrong with one that is
    not there); the agent runs the script in its own worktree."""
    tools = tmp_path / "tools"
    tools.mkdir()
    claude = tools / "claude"
    claude.write_text(FAKE_CLAUDE)
    claude.chmod(0o755)
    repo = make_repo(tmp_path, files={"ask.sh": ASKER})
    (repo / "ask.sh").chmod(0o755)
    subprocess.run(["git", "commit", "-qam", "ask.sh executable"], cwd=repo, check=True)
    subprocess.run(["git", "push", "-q", "origin", "HEAD:main"], cwd=repo, check=True)
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands:
  claude: "{claude} --model {{model}}"
  asker: ./ask.sh
  ghost: ./not-there.sh
agents: [{{name: q, agent: asker}}]
""")
    doctor = run_agentdeck("doctor", cwd=repo)
    lines = doctor.out.splitlines()
    assert f"ok  agent: claude         {claude} (9.9.9 (Claude Code))" in lines[lines.index(
        next(x for x in lines if "agent: claude" in x))], doctor.out
    asker = next(x for x in lines if "agent: asker" in x)
    assert asker.startswith("ok ") and str(repo / "ask.sh") in asker
    ghost = lines.index(next(x for x in lines if "agent: ghost" in x))
    assert f"{repo / 'not-there.sh'} does not exist" in lines[ghost]
    assert "fix: commands.ghost in" in lines[ghost + 1]
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    state = open_repo(repo).state_dir
    try:
        started = run_agentdeck("start", cwd=repo)
        assert started.code == 0, started.err
        worktree = (tmp_path / "wt-q").resolve()
        wait(lambda: f"asked from {worktree}" in run_agentdeck("logs", "q", cwd=repo).out,
             "the script's line in the agent's log", poll=0.1)
    finally:
        lifecycle.stop(state)


# inotify instances used up (by this helper, as the user `nobody`: no other test's watchers
# share its limit), then a watch started (on /tmp: there before it, nothing is made): the
# error and the advice the radar shows
EXHAUSTED = r"""
import ctypes, sys
from pathlib import Path
libc = ctypes.CDLL(None, use_errno=True)
held = []
while (fd := libc.inotify_init1(0)) >= 0:
    held.append(fd)
from agentdeck.core.git.watch import FileWatcher, watch_advice
said = []
watcher = FileWatcher(Path(sys.argv[1]) / "x.json", lambda: None, said.append).start()
watcher._thread.join(50)  # (it ends once it has said why it cannot watch)
print(said[0] if said else f"nothing said; watcher alive: {watcher._thread.is_alive()}")
print(watch_advice(said[0]) if said else "")
"""


def test_when_inotify_runs_out_the_radar_says_how_to_raise_it() -> None:
    # The helper runs in a user namespace of its own whose inotify limit it lowers to 3: it
    # runs out without taking the instances this user's other processes (parallel tests)
    # need, and as this user, so it reads this checkout whatever its folders' modes.
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("needs unshare (util-linux)")
    probe = subprocess.run([unshare, "--user", "--map-root-user", "true"], capture_output=True)
    if probe.returncode != 0 and not os.environ.get("CI"):
        pytest.skip(f"user namespaces are not allowed here: {probe.stderr.decode().strip()}")
    result = subprocess.run(
        [unshare, "--user", "--map-root-user", "sh", "-c",
         'echo 3 > /proc/sys/user/max_inotify_instances && exec "$0" -c "$1" /tmp',
         sys.executable, EXHAUSTED], capture_output=True, text=True, timeout=90,
        cwd="/", env={**os.environ, "HOME": "/tmp",
                      "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    assert result.returncode == 0, result.stderr
    error, advice = [*result.stdout.splitlines(), "", ""][:2]
    assert error, (result.stdout, result.stderr)
    assert "Too many open files (os error 24)" in error, (result.stdout, result.stderr)
    assert "sudo sysctl fs.inotify.max_user_watches=524288" in advice
    assert "/etc/sysctl.d/" in advice
