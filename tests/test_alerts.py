"""Notifications that reach the user anywhere: sent by the session host (no dashboard open) to a
local HTTP server standing in for ntfy and for a webhook — a prompt waiting longer than
`notify.after` with its whole command, an agent that exited with an error; repeats coalesced;
no secret of the fleet's environment in any of them."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agentdeck.core.fleet.options import NotifySpec
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.core.oversight import alerts
from agentdeck.core.oversight.alerts import Alert, Alerts, Happenings, redact
from agentdeck.daemon import lifecycle
from agentdeck.daemon.client import RemoteHost
from tests.conftest import make_repo, run_agentdeck, wait, write_fleet

SECRET = "s3cr3t-t0ken-value-42"

# asks to run a command carrying its token, then exits 3 whatever the answer
ASKER = r"""
import os, sys, tty
token = os.environ["API_TOKEN"]
sys.stdout.write("\r\n Bash command\r\n\r\n   curl -H 'Authorization: Bearer " + token +
                 "' https://api.example.com/deploy\r\n   Deploy it\r\n\r\n"
                 " Do you want to proceed?\r\n > 1. Yes\r\n   2. No\r\n\r\n Esc to cancel\r\n")
sys.stdout.flush()
tty.setraw(0)
sys.stdin.read(1)
sys.exit(3)
"""


class Inbox:
    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()

    def of(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(h, b) for p, h, b in self.posts if p == path]


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    box = Inbox()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with box.lock:
                box.posts.append((self.path, dict(self.headers), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield box, server.server_address[1]
    server.shutdown()


def test_the_session_host_notifies_with_no_dashboard_open(tmp_path: Path,
                                                         inbox: tuple[Inbox, int]) -> None:
    box, port = inbox
    repo = make_repo(tmp_path)
    (tmp_path / "asker.py").write_text(ASKER)
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands: {{asker: "{sys.executable} {tmp_path / 'asker.py'}"}}
notify:
  after: 200ms
  ntfy: {{topic: agents, server: "http://127.0.0.1:{port}"}}
  webhook: {{url: "http://127.0.0.1:{port}/hook"}}
agents:
  - name: deploy
    agent: asker
    env: {{API_TOKEN: "{SECRET}"}}
""")
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    started = run_agentdeck("start", cwd=repo)
    assert started.code == 0, started.err
    state = open_repo(repo).state_dir
    try:
        wait(lambda: box.of("/agents") and box.of("/hook"), "the waiting prompt's notifications")
        headers, body = box.of("/agents")[0]
        text = body.decode()
        assert headers["Title"] == "agentdeck: deploy waits for an answer"
        assert headers["Tags"] == "waiting"
        assert "deploy on " + socket.gethostname() in text
        assert "bash: curl -H 'Authorization: Bearer [secret]' https://api.example.com/deploy" \
            in text
        hook = json.loads(box.of("/hook")[0][1])
        assert (hook["event"], hook["agent"], hook["kind"]) == ("waiting", "deploy", "bash")
        assert hook["host"] == socket.gethostname()
        assert hook["detail"] == "curl -H 'Authorization: Bearer [secret]' " \
                                 "https://api.example.com/deploy"
        # answered (from a script: no dashboard), it exits 3: that is news too
        host = lifecycle.connect(state)
        assert host is not None
        try:
            [entry] = host.queue_state["pending"]
            host.answer(entry["id"], "deny", "key")
        finally:
            host.close()
        wait(lambda: any(json.loads(b)["event"] == "error" for _, b in box.of("/hook")),
             "the error's notification")
        error = next(json.loads(b) for _, b in box.of("/hook")
                     if json.loads(b)["event"] == "error")
        assert error["agent"] == "deploy" and error["detail"] == "3"
        assert all(SECRET.encode() not in body for _, _, body in box.posts)
        assert all(SECRET not in json.dumps(h) for _, h, _ in box.posts)
    finally:
        lifecycle.stop(state)


def test_repeats_are_coalesced_and_formats_follow_the_receiver(
        inbox: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch) -> None:
    box, port = inbox
    slack = Alerts(NotifySpec(webhook=f"http://127.0.0.1:{port}/slack",
                              webhook_format="slack"))
    assert slack.send(Alert("finished", "api", host="box"))
    assert not slack.send(Alert("finished", "api", host="box"))  # a repeat: held
    assert slack.send(Alert("finished", "web", host="box"))  # another agent: not a repeat
    wait(lambda: len(box.of("/slack")) == 2, "two notifications")
    assert {json.loads(b)["text"] for _, b in box.of("/slack")} == {
        "*agentdeck: api finished its turn*\napi on box finished its turn",
        "*agentdeck: web finished its turn*\nweb on box finished its turn"}
    monkeypatch.setattr(alerts, "COALESCE", 0.0)  # the window has passed
    assert slack.send(Alert("finished", "api", host="box"))
    wait(lambda: len(box.of("/slack")) == 3, "the next one")
    assert "(+1 more)" in json.loads(box.of("/slack")[-1][1])["text"]
    discord = Alerts(NotifySpec(webhook=f"http://127.0.0.1:{port}/discord",
                                webhook_format="discord", events=("error",)))
    assert not discord.send(Alert("finished", "api"))  # not an event it wants
    assert discord.send(Alert("error", "api", detail="1"))
    wait(lambda: box.of("/discord"), "discord's")
    assert json.loads(box.of("/discord")[0][1])["content"].startswith("**agentdeck: api")


def test_credentials_are_redacted_even_when_the_fleet_does_not_name_them() -> None:
    text = ("deploy --token=abc123 OPENAI=sk-proj-aaaaaaaaaaaaaaaaaaaaaaaa "
            "gh=ghp_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb plain")
    out = redact(text, ["plainvalue-that-is-long"])
    assert "abc123" not in out and "sk-proj" not in out and "ghp_" not in out
    assert out.endswith("plain")


def test_bad_notify_settings_are_one_line(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_fleet(repo, "version: 1\nnotify: {webhook: {url: ftp://x}}\nagents: []\n")
    result = run_agentdeck("ls", "--json", cwd=repo)
    # (ls reads no fleet file; the dashboard and `up` do)
    assert result.code == 0
    bad = run_agentdeck("up", "--no-start", cwd=repo)
    assert bad.code == 2 and "is not an http(s):// URL" in bad.err
    assert load_fleet is not None


# works a moment at start, then waits for a line: "exit" ends it with status 3, anything else is
# a task it works on for a moment. It does not end on SIGHUP or SIGTERM (so `stop` kills it).
WORKER = r"""
import signal, sys, time
signal.signal(signal.SIGHUP, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
for i in range(3):
    print(f"warming up {i}", flush=True)
    time.sleep(0.1)
while True:
    line = sys.stdin.readline().strip()
    if line == "exit":
        sys.exit(3)
    for i in range(3):
        print(f"working on {line} {i}", flush=True)
        time.sleep(0.1)
    print("done", flush=True)
"""


def test_notifications_say_only_what_happened(tmp_path: Path, inbox: tuple[Inbox, int]) -> None:
    """No "finished" for an agent that only started; "finished" once one given a task is done
    with it; no "error" for an agent agentdeck stopped, restarted (killed: it ignores SIGHUP)
    or whose session host restarted; an "error" for one that exits 3 by itself."""
    box, port = inbox
    repo = make_repo(tmp_path)
    (tmp_path / "worker.py").write_text(WORKER)
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands: {{worker: "{sys.executable} {tmp_path / 'worker.py'}"}}
notify:
  webhook: {{url: "http://127.0.0.1:{port}/hook"}}
  events: [waiting, finished, rate-limited, error]
defaults: {{agent: worker}}
agents: [{{name: tasked}}, {{name: idler}}, {{name: stubborn}}]
""")
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    state = open_repo(repo).state_dir

    def events(agent: str) -> list[tuple[str, str]]:
        return [(post["event"], post["detail"]) for post in map(json.loads, (
            body for _, body in box.of("/hook"))) if post["agent"] == agent]

    def idle(host: RemoteHost, *names: str) -> bool:
        infos = {i.name: i for i in host.sessions()}
        return all(n in infos and infos[n].state == "idle" for n in names)

    try:
        assert run_agentdeck("start", cwd=repo).code == 0
        host = lifecycle.connect(state)
        assert host is not None
        try:
            wait(lambda: idle(host, "tasked", "idler", "stubborn"), "every agent at its input")
            host.write("tasked", b"add the tests\r")
            wait(lambda: events("tasked"), "the finished turn's notification")
            assert events("tasked") == [("finished", "")]
        finally:
            host.close()
        for command in (["stop", "stubborn"], ["start", "stubborn"], ["restart", "stubborn"],
                        ["daemon", "restart"], ["start"]):
            done = run_agentdeck(*command, cwd=repo)
            assert done.code == 0, (command, done.err)
        host = lifecycle.connect(state)
        assert host is not None
        try:
            wait(lambda: idle(host, "idler", "stubborn"), "both at their input again")
            # what does come: an exit the agent made itself
            for name in ("idler", "stubborn"):
                host.write(name, b"exit\r")
            wait(lambda: events("idler") and events("stubborn"), "the two exits' notifications")
        finally:
            host.close()
        # (each agent's notifications come in order: the exit's is the last one made)
        assert events("idler") == [("error", "3")]
        assert events("stubborn") == [("error", "3")]
    finally:
        lifecycle.stop(state)


def test_what_agentdeck_did_to_an_agent_is_no_news() -> None:
    """The session host's record of what happened (core/alerts.Happenings), through the
    sequences it sees: a turn cut short by a budget and then told to go on; a stop's exit."""
    news = Happenings()
    news.started("a")
    assert news.news("a", "working") is None
    assert news.news("a", "idle") is None  # it started up: no turn of work ended
    news.asked("a")
    assert news.news("a", "working") is None
    news.cut_short("a")  # a budget's interrupt: the turn ends, but not as the agent's own
    assert news.news("a", "idle") is None
    assert news.news("a", "exited", "130") is None  # (an exit it brought about is no error)
    news.started("a")
    news.asked("a")
    assert news.news("a", "working") is None
    news.asked("a")  # allowed on: told to go on
    assert news.news("a", "working") is None
    finished = news.news("a", "idle")
    assert finished is not None and finished.event == "finished"
    assert news.news("a", "working") is None and news.news("a", "idle") is None  # a redraw
    news.ending("a")
    assert news.news("a", "exited", "-9") is None  # killed by a stop
    news.started("a", with_task=True)  # its task on its command line
    assert news.news("a", "working") is None
    assert news.news("a", "idle") is not None
    failed = news.news("a", "exited", "3")
    assert failed is not None and (failed.event, failed.detail) == ("error", "3")
