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

from agentdeck.core import alerts
from agentdeck.core.alerts import Alert, Alerts, redact
from agentdeck.core.config import NotifySpec, load_fleet
from agentdeck.core.repo import open_repo
from agentdeck.daemon import lifecycle
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
