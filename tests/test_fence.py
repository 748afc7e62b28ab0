"""The fence against an agent that attacks it on purpose (DESIGN.md, "The fence"), with real
bubblewrap, real git and the real session host daemon: a scripted hostile agent, started the way
a user starts agents (`agentdeck start`), tries to move `main` and another agent's branch, to
write git's shared files, to read the transcripts, to reach the session host's socket, to answer
or forge prompts through the hook's socket, to kill the session host, and to leave a daemonized
grandchild behind. Every attempt fails, while its own work — an edit, a commit on its branch,
its tests — succeeds and its commit reaches its branch outside. `stop` leaves no process."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from agentdeck.core.git.repo import open_repo
from agentdeck.core.hostlock import daemon_socket
from agentdeck.core.unixsock import socket_path
from agentdeck.daemon import lifecycle
from tests.conftest import alive, git, make_repo, run_agentdeck, wait, write_fleet

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap is not installed (.ci/run installs it)")

HOSTILE = r"""
import json, os, socket, subprocess, sys, time
common, daemon_sock, hook_sock, token = sys.argv[1:5]
daemon_pid = open("daemon-pid.txt").read()  # (put in its worktree by the test)
results = {}
def attempt(name, fn):
    try:
        out = fn()
        results[name] = "ok" if out is None else out
    except (OSError, subprocess.CalledProcessError) as exc:
        results[name] = type(exc).__name__
def git(*args):
    return subprocess.run(["git", "-c", "user.email=e@e", "-c", "user.name=e", *args],
                          check=True, capture_output=True, text=True).stdout.strip()
def write(path, text="x"):
    with open(path, "w") as fh:
        fh.write(text)
# its own work
attempt("edit", lambda: write("mine.txt", "mine\n"))
attempt("commit", lambda: (git("add", "mine.txt"), git("commit", "-qm", "mine"), None)[2])
attempt("tests", lambda: subprocess.run([sys.executable, "-c", "assert 1"], check=True) and None)
head = git("rev-parse", "HEAD")
# moving refs that are not its own
attempt("update-ref main", lambda: git("update-ref", "refs/heads/main", head) and None)
attempt("branch -f other", lambda: git("branch", "-f", "feat/b", head) and None)
attempt("write main's ref file", lambda: write(os.path.join(common, "refs/heads/main"),
                                                head + "\n"))
attempt("tag", lambda: git("tag", "evil", head) and None)
attempt("packed-refs", lambda: write(os.path.join(common, "packed-refs"),
                                     f"{head} refs/heads/main\n"))
attempt("config", lambda: write(os.path.join(common, "config"), "[core]\n"))
attempt("hooks", lambda: write(os.path.join(common, "hooks/post-checkout"), "#!/bin/sh\n"))
attempt("other worktree's HEAD", lambda: write(os.path.join(common, "worktrees/wt-b/HEAD"),
                                                "ref: refs/heads/main\n"))
# what the registry holds
state = os.path.join(common, "agentdeck")
def transcripts():
    found = [n for n in os.listdir(os.path.join(state, "transcripts"))]
    if not found:
        raise FileNotFoundError("empty")
    return "read " + ",".join(found)
attempt("transcripts", transcripts)
attempt("audit log", lambda: open(os.path.join(state, "audit.jsonl")).read() and None)
attempt("hook key", lambda: open(os.path.join(state, "hook.key")).read() and None)
def connect(path, message=None):
    def go():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(path)
        if message is None:
            s.sendall(b'{"op": "sessions"}\n')
        else:
            s.sendall(json.dumps(message).encode() + b"\n")
        data = s.recv(4096)
        s.close()
        if not data:
            raise ConnectionResetError("closed unanswered")
        return "answered"
    return go
attempt("daemon socket", connect(daemon_sock))
for root, _dirs, names in os.walk("/tmp"):
    for name in names:
        if name.endswith(".sock"):
            attempt("socket " + name, connect(os.path.join(root, name)))
# the hook's socket is reachable: it may speak for itself, not for another agent
forged = {"v": 1, "agent": "b", "cli": "claude", "pid": 1, "token": "",
          "request": {"tool_name": "Bash", "tool_input": {"command": "forged for b"}}}
attempt("forge b's prompt", connect(hook_sock, forged))
attempt("kill the session host", lambda: os.kill(int(daemon_pid), 9))
# a daemon of its own, double-forked into a new session
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", token])
    os._exit(0)
os.wait()
with open("hostile.json", "w") as fh:
    json.dump(results, fh)
sys.stdout.write("\r\n Bash command\r\n\r\n   rm -rf build\r\n   Clean it\r\n\r\n"
                 " Do you want to proceed?\r\n > 1. Yes\r\n   2. No\r\n\r\n Esc to cancel\r\n")
sys.stdout.flush()
sys.stdin.read(1)
time.sleep(600)
"""


FLEET = """\
version: 1
worktrees: ../{{name}}
commands: {{hostile: {command}, idle: "sleep 600"}}
defaults:
  agent: hostile
  sandbox: {sandbox}
agents:
  - {{name: wt-a, branch: feat/a}}
  - {{name: wt-b, branch: feat/b, sandbox: none, agent: idle}}
"""


def hostile_fleet(tmp_path: Path, sandboxed: bool = True) -> tuple[Path, str]:
    """A repository whose agent wt-a is the hostile script (wt-b: a bystander's worktree),
    made with `up --no-start`, and its session host daemon running; returns the token the
    hostile agent's daemonized grandchild carries on its command line."""
    repo = make_repo(tmp_path)
    (repo / "hostile.py").write_text(HOSTILE)
    git(repo, "add", "hostile.py")
    git(repo, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "hostile")
    ctx = open_repo(repo)
    token = f"hostile-grandchild-{uuid.uuid4().hex}"
    command = json.dumps(" ".join([
        sys.executable, str(repo / "hostile.py"), str(ctx.common_dir),
        str(daemon_socket(ctx.state_dir)), str(socket_path(ctx.state_dir, "approvals.sock")),
        token]))
    sandbox = '{mode: bwrap, network: false}' if sandboxed else "none"
    write_fleet(repo, FLEET.format(command=command, sandbox=sandbox))
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    assert run_agentdeck("daemon", "start", cwd=repo).code == 0
    pid = (ctx.state_dir / "daemon.pid").read_text().strip()
    # (an agent outside the sandbox can kill anything of its user's: it gets no real target)
    (tmp_path / "wt-a" / "daemon-pid.txt").write_text(pid if sandboxed else str(2**22 + 1))
    return repo, token


def leftovers(token: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if token in (proc.info["cmdline"] or []):
            found.append(proc)
    return found


def alive_agent(repo: Path, name: str) -> bool:
    listing = run_agentdeck("ls", "--json", cwd=repo)
    rows = json.loads(listing.out)
    row = next(r for r in (rows if isinstance(rows, list) else rows["agents"])
               if r["name"] == name)
    return row["state"] not in ("exited", "stopped", "failed") and \
        not str(row["state"]).startswith("exited")


def queue_of(repo: Path) -> list[dict[str, object]]:
    """The session host's queue, as a script sees it through its socket."""
    host = lifecycle.connect(open_repo(repo).state_dir)
    assert host is not None
    try:
        return list(host.queue_state["pending"])
    finally:
        host.close()


@needs_bwrap
def test_a_hostile_agent_gets_nothing_out_of_its_sandbox(tmp_path: Path) -> None:
    repo, token = hostile_fleet(tmp_path)
    ctx = open_repo(repo)
    main_before = git(repo, "rev-parse", "main").strip()
    b_before = git(repo, "rev-parse", "feat/b").strip()
    config_before = (ctx.common_dir / "config").read_text()
    try:
        started = run_agentdeck("start", "wt-a", cwd=repo)
        assert started.code == 0, started.err
        report = tmp_path / "wt-a" / "hostile.json"
        wait(report.exists, "the hostile agent's report", 30)
        results = json.loads(report.read_text())
        # its own work succeeds, and its commit reaches its branch outside
        assert results["edit"] == results["commit"] == results["tests"] == "ok", results
        wait(lambda: git(repo, "log", "-1", "--format=%s", "feat/a").strip() == "mine",
             "its commit on feat/a outside the sandbox", 10)
        mine = git(repo, "rev-parse", "feat/a").strip()
        # what it did to other refs stayed in its own view (or failed)
        for name in ("packed-refs", "config", "hooks", "other worktree's HEAD", "transcripts",
                     "audit log", "hook key", "daemon socket"):
            assert results[name] != "ok" and not results[name].startswith(("read", "answer")), (
                name, results)
        assert not [k for k, v in results.items() if k.startswith("socket ") and v != "ok"
                    and v == "answered"], results
        assert results["forge b's prompt"] != "answered", results
        # the broker has run since (it carried feat/a out): main and feat/b did not move
        assert git(repo, "rev-parse", "main").strip() == main_before
        assert git(repo, "rev-parse", "feat/b").strip() == b_before
        assert git(repo, "tag", "--list").strip() == ""
        assert (ctx.common_dir / "config").read_text() == config_before
        assert not (ctx.common_dir / "hooks" / "post-checkout").exists()
        assert git(tmp_path / "wt-b", "symbolic-ref", "HEAD").strip() == "refs/heads/feat/b"
        # a commit the user makes on main moves main, and the agent's branch stays its own
        (repo / "user.txt").write_text("user\n")
        git(repo, "add", "user.txt")
        git(repo, "-c", "user.email=u@u", "-c", "user.name=u", "commit", "-qm", "user's")
        assert git(repo, "rev-parse", "feat/a").strip() == mine
        # the session host is not its to kill (its pid is not in the sandbox's namespace)
        assert results["kill the session host"] == "ProcessLookupError", results
        assert psutil.pid_exists(int((ctx.state_dir / "daemon.pid").read_text()))
        # the forged ref in its own view is put back by the next mirror
        shadow_main = ctx.state_dir / "sandbox" / "wt-a" / "git" / "refs" / "heads" / "main"
        wait(lambda: not shadow_main.exists() or
             shadow_main.read_text().strip() == git(repo, "rev-parse", "main").strip(),
             "its view of main put back", 10)
        # its prompt is in the queue, the forged one for b is not
        wait(lambda: any(e.get("agent") == "wt-a" for e in queue_of(repo)),
             "the hostile agent's prompt in the queue", 20)
        assert not any(e.get("agent") == "wt-b" for e in queue_of(repo))
        # the grandchild it daemonized runs (inside its sandbox) until `stop`
        assert leftovers(token)
    finally:
        stopped = run_agentdeck("stop", "wt-a", cwd=repo)
        run_agentdeck("daemon", "stop", cwd=repo)
    assert stopped.code == 0, stopped.err
    assert leftovers(token) == []
    assert not [p for p in psutil.process_iter(["cmdline"])
                if str(repo / "hostile.py") in (p.info["cmdline"] or [])]


@pytest.mark.parametrize("sandboxed", [
    pytest.param(True, marks=needs_bwrap), False], ids=["sandboxed", "unsandboxed"])
def test_stop_ends_a_daemonized_grandchild(tmp_path: Path, sandboxed: bool) -> None:
    repo, token = hostile_fleet(tmp_path, sandboxed)
    try:
        assert run_agentdeck("start", "wt-a", cwd=repo).code == 0
        wait(lambda: leftovers(token), "the daemonized grandchild", 30)
        if not sandboxed:  # it left the agent's session: only its marker tells it is its
            grandchild = leftovers(token)[0]
            assert os.getsid(grandchild.pid) == grandchild.pid
        stopped = run_agentdeck("stop", "wt-a", cwd=repo)
        assert stopped.code == 0, stopped.err
        wait(lambda: leftovers(token) == [], "no process of the agent left", 10)
    finally:
        run_agentdeck("daemon", "stop", cwd=repo)


def stays_running(repo: Path, name: str, seconds: float = 4.0) -> None:
    """The agent runs now and still does `seconds` later, looked at all along (the bug this
    guards against killed sandboxed agents within a second of the call that started them:
    four times that is the window). A look is an `agentdeck ls` process: one every 2 s (an
    agent that ended stays ended, so the last look would see it anyway)."""
    wait(lambda: alive_agent(repo, name), f"{name} running", 20, poll=0.25)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert alive_agent(repo, name), f"{name} ended"
        time.sleep(2.0)
    assert alive_agent(repo, name), f"{name} ended"


LIVELY = """\
version: 1
worktrees: ../{{name}}
commands: {{lively: {command}}}
defaults: {{agent: lively, sandbox: {{mode: bwrap, network: false}}}}
agents: [{{name: s1, branch: feat/s1}}]
"""


@needs_bwrap
async def test_a_sandboxed_agent_lives_as_long_as_its_session_host(tmp_path: Path) -> None:
    """Started by `agentdeck start`, by `restart`, by R in the dashboard, and left when the
    dashboard quits: running 4 s later each time; `stop` leaves no process of it."""
    from agentdeck.core.deck import Deck
    from agentdeck.core.fleet.schema import load_fleet
    from agentdeck.daemon.client import RemoteQueue
    from agentdeck.ui.app import AgentdeckApp
    from tests.conftest import until

    repo = make_repo(tmp_path)
    (tmp_path / "lively.py").write_text("import time\nprint('ready', flush=True)\n"
                                        "time.sleep(600)\n")
    write_fleet(repo, LIVELY.format(command=json.dumps(f"{sys.executable} "
                                                       f"{tmp_path / 'lively.py'}")))
    ctx = open_repo(repo)
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    try:
        assert run_agentdeck("start", "s1", cwd=repo).code == 0
        stays_running(repo, "s1")
        assert run_agentdeck("restart", "s1", cwd=repo).code == 0
        stays_running(repo, "s1")
        fleet = load_fleet(repo / "agentdeck.yaml")
        host = lifecycle.ensure(ctx.state_dir, fleet.path)
        deck = Deck.attach(ctx, fleet, host, RemoteQueue(host))
        first = {i.name: i.pid for i in host.sessions()}["s1"]
        app = AgentdeckApp(deck)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: bool(app.query("#pane-s1")))
            await pilot.press("R")
            await until(pilot, lambda: {i.name: (i.pid, i.process) for i in host.sessions()}
                        ["s1"][0] not in (None, first), 20)
            await pilot.press("q")
        deck.close()
        stays_running(repo, "s1")  # restarted by R, and the dashboard has quit
        pids = [p.pid for p in psutil.process_iter(["cmdline"])
                if "bwrap" in (p.info["cmdline"] or [""])[0] and
                str(tmp_path / "s1") in (p.info["cmdline"] or [])]
        assert pids, "the sandbox's processes"
        assert run_agentdeck("stop", "s1", cwd=repo).code == 0
        wait(lambda: not any(alive(p) for p in pids), "no process of the sandbox left", 10)
    finally:
        run_agentdeck("daemon", "stop", cwd=repo)


@needs_bwrap
def test_the_session_host_refuses_a_peer_in_another_pid_namespace(tmp_path: Path) -> None:
    """Even handed the session host's socket (bound into its sandbox on purpose), a process in
    another pid namespace gets no answer: the socket that answers prompts is never a sandboxed
    agent's to use. The same request from this namespace is answered."""
    repo = make_repo(tmp_path)
    write_fleet(repo, "version: 1\nagents: []\n")
    ctx = open_repo(repo)
    assert run_agentdeck("daemon", "start", cwd=repo).code == 0
    sock = daemon_socket(ctx.state_dir)
    ask = ("import sys\nfrom pathlib import Path\n"
           "from agentdeck.daemon.client import RemoteHost\n"
           "try:\n    RemoteHost(Path(sys.argv[1])).close()\n    print('answered')\n"
           "except Exception as exc:\n    print('closed', type(exc).__name__)\n")
    try:
        import subprocess

        here = subprocess.run([sys.executable, "-c", ask, str(sock)], capture_output=True,
                              text=True, timeout=30)
        assert here.stdout.strip() == "answered", here.stderr
        inside = subprocess.run(["bwrap", "--unshare-pid", "--ro-bind", "/", "/", "--dev",
                                 "/dev", "--proc", "/proc", "--", sys.executable, "-c", ask,
                                 str(sock)], capture_output=True, text=True, timeout=30)
        assert inside.stdout.startswith("closed"), (inside.stdout, inside.stderr)
    finally:
        run_agentdeck("daemon", "stop", cwd=repo)
