"""Devices instead of one token: `agentdeck serve` shows a QR code and a one-time pairing link
(valid five minutes); each device that pairs gets a token of its own in a cookie (kept only
as a SHA-256, in a 0600 file); answers are audited with the device's name; `serve devices`
lists them and `--revoke NAME` ends one: its next request is refused and its open page closes,
the other device goes on. No token or code ever shows in serve's log."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from agentdeck.daemon import lifecycle
from agentdeck.daemon.client import RemoteQueue
from agentdeck.web.devices import PAIRING_TTL, Devices, guess_name
from tests.conftest import assert_one_line_error, run_agentdeck, wait
from tests.served import (
    CHROMIUM_ARGS,
    PageScreen,
    Served,
    need_chromium,
    post_pairing,
    serving,
    wait_for_buttons,
)


def pair_in_browser(browser: Any, served: Served, link: str, name: str) -> tuple[Any, str]:
    """A phone opens the pairing link, names itself and pairs: its page (on the dashboard)
    and its token (the cookie it was given)."""
    context = browser.new_context(viewport={"width": 390, "height": 844},
                                  device_scale_factor=3, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(link)
    page.fill("#name", name)
    page.tap("#pair")
    page.wait_for_url(served.base + "/?view=queue")
    [cookie] = [c for c in context.cookies() if c["name"] == "agentdeck_device"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    return page, cookie["value"]


def answer_in(page: Any, served: Served, queue: RemoteQueue) -> None:
    """Tap allow on the page's dashboard; wait for the answer to reach the agent."""
    screen = PageScreen()
    page.on("websocket", screen.watch)
    page.reload()
    page.wait_for_selector("body.-first-byte", timeout=30_000)
    wait(queue.pending, "a prompt in the queue")
    before = len(served.answered())
    row, lines = wait_for_buttons(page, screen, served)
    box = page.locator(".xterm-screen").bounding_box()
    cols, rows = screen.sizes[-1]
    col = lines[row].index(" allow ") + 3
    page.touchscreen.tap(box["x"] + (col + 0.5) * box["width"] / cols,
                         box["y"] + (row + 0.5) * box["height"] / rows)
    wait(lambda: len(served.answered()) > before, "the tapped answer to reach the agent")


def test_two_devices_pair_answer_and_one_is_revoked(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with serving(tmp_path) as served:
        out = served.out.read_text()
        assert "▀" in out or "▄" in out or "█" in out, out  # the QR code, no device yet
        watcher = lifecycle.ensure(served.state, None)
        queue = RemoteQueue(watcher)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=need_chromium(), args=CHROMIUM_ARGS)
            try:
                phone, phone_token = pair_in_browser(browser, served, served.url, "pixel-8")
                # the link is spent: once more, even with its right code, it pairs nothing
                assert post_pairing(served.url, "again") == (403, None)
                second = served.new_link("laptop")
                laptop, laptop_token = pair_in_browser(browser, served, second, "laptop")
                answer_in(phone, served, queue)
                answer_in(laptop, served, queue)
                devices = [(a["via"], a.get("device")) for a in served.audit()
                           if a["decision"] == "allow"]
                assert devices == [("web", "pixel-8"), ("web", "laptop")], served.audit()
                listed = run_agentdeck("devices", cwd=served.repo)  # (a usage error)
                assert listed.code == 2
                listed = run_agentdeck("serve", "devices", cwd=served.repo)
                assert "pixel-8" in listed.out and "laptop" in listed.out, listed.out
                # the file: digests only, the user's alone
                store = served.state / "devices.json"
                assert stat.S_IMODE(store.stat().st_mode) == 0o600
                text = store.read_text()
                assert phone_token not in text and laptop_token not in text
                assert served.url.split("code=")[1] not in text
                # revoked: its open page closes, its next request is refused; the laptop goes on
                revoked = run_agentdeck("serve", "devices", "--revoke", "pixel-8",
                                        cwd=served.repo)
                assert revoked.code == 0, revoked.err
                phone.wait_for_selector("body.-closed", timeout=30_000)
                assert served.get("/", phone_token) == 403
                assert phone.goto(served.base + "/").status == 403
                assert served.get("/", laptop_token) == 200
                answer_in(laptop, served, queue)
                unknown = run_agentdeck("serve", "--revoke", "pixel-8", cwd=served.repo)
                assert_one_line_error(unknown, 2, "no paired device 'pixel-8'", "laptop")
            finally:
                browser.close()
                queue.close()
                watcher.close()
        # (the link serve printed for the user to open is no log line)
        log = "\n".join(line for line in served.log().splitlines()
                        if "agentdeck: pair a device:" not in line)
        assert '"POST /pair" 303' in log and '"GET /" 403' in log
        for secret in (phone_token, laptop_token, served.url.split("code=")[1],
                       second.split("code=")[1]):
            assert secret not in log


def test_a_pairing_code_is_good_once_for_five_minutes(tmp_path: Path) -> None:
    now = [1_000_000.0]
    devices = Devices(tmp_path, clock=lambda: now[0])
    code = devices.new_pairing()
    late = devices.new_pairing("tablet")
    now[0] += PAIRING_TTL - 1
    assert devices.pairing(code) is not None
    name, token = devices.pair(code, "Pixel 8")
    assert name == "pixel-8" and devices.who(token) == "pixel-8"
    with pytest.raises(Exception, match="spent or has expired"):
        devices.pair(code, "again")
    now[0] += 2  # past five minutes for the other one
    assert devices.pairing(late) is None
    with pytest.raises(Exception, match="spent or has expired"):
        devices.pair(late, "tablet")
    # a name taken is made unique; the file keeps digests only
    again = devices.new_pairing()
    name2, token2 = devices.pair(again, "pixel-8")
    assert name2 == "pixel-8-2" and devices.who(token2) == "pixel-8-2"
    data = json.loads((tmp_path / "devices.json").read_text())
    assert token not in json.dumps(data) and all(len(d["digest"]) == 64 for d in data["devices"])
    assert devices.revoke("pixel-8") and devices.who(token) is None
    assert devices.who(token2) == "pixel-8-2"


@pytest.mark.parametrize(("agent", "name"), [
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120 Mobile", "pixel-8"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15", "iphone"),
    ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 Chrome/120 Mobile", "phone"),
    ("curl/8.0", "browser")])
def test_a_device_is_named_after_what_it_says_it_is(agent: str, name: str) -> None:
    assert guess_name(agent) == name
