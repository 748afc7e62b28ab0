"""`agentdeck serve`: the dashboard in a real headless Chromium at a phone's size (390x844),
attached to the daemon, behind its token; a prompt answered through the page reaches the agent.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from agentdeck.core.terminal import make_emulator
from agentdeck.daemon import lifecycle
from agentdeck.daemon.client import RemoteQueue
from agentdeck.serve import is_loopback
from tests.conftest import free_port, make_repo, run_agentdeck, wait, write_fleet

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ASKER = """
import sys, time
sys.stdout.write("Run make deploy? [y/n] ")
sys.stdout.flush()
answer = sys.stdin.readline().strip()
open(sys.argv[1], "w").write(answer)
print("answer", answer, flush=True)
time.sleep(600)
"""


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")


@pytest.fixture
def served(tmp_path: Path):
    repo = make_repo(tmp_path)
    asker = tmp_path / "asker.py"
    asker.write_text(ASKER)
    answer = tmp_path / "answer.txt"
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands: {{asker: "{sys.executable} {asker} {answer}"}}
dashboard: {{agent_size: 90x25}}  # a dashboard that resized agents would show
agents: [{{name: ops, agent: asker, branch: feat/ops}}]
""")
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    assert run_agentdeck("start", cwd=repo).code == 0
    port = free_port()
    # the server's output goes to files: a pipe nobody drains would block it once full
    out, err = tmp_path / "serve.out", tmp_path / "serve.err"
    with out.open("w") as out_fh, err.open("w") as err_fh:
        proc = subprocess.Popen([sys.executable, "-m", "agentdeck", "serve", "--port",
                                 str(port)], cwd=repo, stdout=out_fh, stderr=err_fh, text=True,
                                env={**os.environ, "COLUMNS": "120"})
    try:
        wait(lambda: "token=" in out.read_text() or proc.poll() is not None,
             "serve to print its link", timeout=60)
        match = re.search(r"(http://127\.0\.0\.1:\d+/\?token=(\S+))", out.read_text())
        assert match, (out.read_text(), err.read_text())
        url = match.group(1)

        def up() -> bool:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                return True
            except (urllib.error.URLError, ConnectionError):
                return False

        wait(up, "the server to answer")
        yield repo, url, match.group(2), answer
    finally:
        proc.terminate()
        proc.wait(10)
        run_agentdeck("daemon", "stop", cwd=repo)


def test_the_server_wants_its_token(served) -> None:
    _, url, token, _ = served
    base = url.split("?")[0]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(base, timeout=5)
    assert refused.value.code == 403
    with pytest.raises(urllib.error.HTTPError) as wrong:
        urllib.request.urlopen(base + "?token=" + "x" * len(token), timeout=5)
    assert wrong.value.code == 403
    page = urllib.request.urlopen(url, timeout=5)
    assert page.status == 200 and "agentdeck_token" in page.headers.get("Set-Cookie", "")
    # a websocket with the token (the cookie another site's page would carry) but from that
    # other site's Origin is refused; from the served page's own Origin it opens
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(url)
    for origin, status in (("http://evil.example", 403), (f"http://{where.netloc}", 101)):
        conn = http.client.HTTPConnection(where.hostname, where.port, timeout=5)
        conn.request("GET", "/ws", headers={
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": origin,
            "Cookie": f"agentdeck_token={token}"})
        assert conn.getresponse().status == status, origin
        conn.close()


def test_a_phone_gets_the_phone_layout_and_answers_with_a_tap(served, tmp_path: Path) -> None:
    if CHROMIUM is None:
        message = "chromium is not installed (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    repo, url, _, answer = served
    from agentdeck.core.repo import open_repo

    state = open_repo(repo).state_dir
    watcher = lifecycle.ensure(state, None)
    queue = RemoteQueue(watcher)
    wait(lambda: queue.pending(), "the agent's prompt in the queue")
    [entry] = queue.pending()

    def agent_size() -> tuple[int, int]:
        with watcher.attach("ops") as emulator:
            return emulator.cols, emulator.rows

    size = agent_size()
    # what each websocket of the page received (a reconnect starts a new stream), and the
    # terminal sizes the page asked for
    streams: list[list[bytes]] = []
    sizes: list[tuple[int, int]] = []

    def watch(ws) -> None:  # type: ignore[no-untyped-def]
        # the page's terminal draws on a canvas: what the dashboard sends it is read here
        frames: list[bytes] = []
        streams.append(frames)
        ws.on("framereceived", lambda data: frames.append(data) if isinstance(data, bytes)
              else None)

        def sent(data) -> None:  # type: ignore[no-untyped-def]
            if isinstance(data, str) and data.startswith('["resize"'):
                size = json.loads(data)[1]
                sizes.append((size["width"], size["height"]))

        ws.on("framesent", sent)

    def screen() -> list[str]:
        emulator = make_emulator(*sizes[-1], 100)
        emulator.feed(b"".join(streams[-1]))
        return emulator.lines()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                        has_touch=True, device_scale_factor=1)
            page = phone.new_page()
            page.on("websocket", watch)
            page.goto(url)
            # textual-serve marks the body once the app's first bytes arrived
            page.wait_for_selector("body.-first-byte", timeout=30_000)
            def shown() -> bool:
                # Playwright's sync API hands its events (the frames read above) to Python only
                # while a call of it runs: each look makes one, or the frames that arrive while
                # this waits are never seen
                page.evaluate("0")
                return bool(sizes) and all(part in "\n".join(screen()) for part in (
                    "make deploy", " allow ", "? help", "q quit", "deploy? [y/n]"))

            try:
                wait(shown, "the phone's screen", timeout=60)
            except AssertionError:
                raise AssertionError(
                    f"the phone's screen ({sizes}; bytes per websocket "
                    f"{[sum(map(len, x)) for x in streams]}) never showed the request, its "
                    "buttons, its agent's screen and the footer:\n"
                    + "\n".join(screen() if sizes and streams else [])
                    + "\nserver:\n" + (tmp_path / "serve.out").read_text()[-3000:]
                    + (tmp_path / "serve.err").read_text()[-2000:]) from None
            lines = screen()
            text = "\n".join(lines)
            # the phone layout: a phone's width in columns, the agent strip, the queue with
            # its request written out whole and buttons to answer it, and under them the
            # asking agent's own screen (what a tap answers is in view)
            assert sizes[-1][0] < 60, sizes
            assert "▲ ops waiting" in text and "approvals (1)" in text, text
            assert "ops · bash · Run make deploy?" in text, text
            assert "Run make deploy? [y/n]" in text, text
            assert "? help" in text and "q quit" in text, text
            [row] = [n for n, line in enumerate(lines) if " allow " in line and "deny" in line]
            col = lines[row].index(" allow ") + 3
            box = page.locator(".xterm-screen").bounding_box()
            assert box is not None
            cols, rows = sizes[-1]
            page.touchscreen.tap(box["x"] + (col + 0.5) * box["width"] / cols,
                                 box["y"] + (row + 0.5) * box["height"] / rows)
            wait(answer.exists, "the tapped answer to reach the agent", timeout=30)
            # the page's dashboard attached, drew and answered: it resized no agent (a viewer
            # never does), and the queue held the one entry until its answer
            assert agent_size() == size
        finally:
            browser.close()
    assert answer.read_text() == "y"
    wait(lambda: not queue.pending(), "the entry to leave every client's queue")
    audit = [json.loads(x) for x in (state / "audit.jsonl").read_text().splitlines()]
    assert [(a["summary"], a["decision"], a["by"]) for a in audit] == [
        (entry.summary, "allow", "key")]
    watcher.close()
