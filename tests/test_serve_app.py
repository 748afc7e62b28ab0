"""`agentdeck serve` as an installable web app: a manifest (a name, a theme colour, full-screen,
started on the queue) and its icons, fetched without the token (a browser fetches a manifest
without cookies); the page links them; a page opened on the start URL runs its dashboard on
the queue."""

from __future__ import annotations

import json
import struct
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from agentdeck.ui.app import AgentdeckApp
from tests.conftest import wait
from tests.served import CHROMIUM_ARGS, PageScreen, answers_http, need_chromium, serving
from tests.test_dashboard import demo_deck  # noqa: F401  (a fixture)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_app_installs_and_opens_on_the_queue(tmp_path: Path) -> None:
    with serving(tmp_path) as served:
        wait(lambda: answers_http(served.base + "/"), "the server to answer")
        reply = urllib.request.urlopen(served.base + "/app/manifest.webmanifest", timeout=15)
        assert reply.headers["Content-Type"].startswith("application/manifest+json")
        manifest = json.loads(reply.read())
        assert manifest["name"] == manifest["short_name"] == "agentdeck"
        assert manifest["display"] == "fullscreen" and manifest["start_url"] == "/?view=queue"
        assert manifest["theme_color"] == manifest["background_color"]
        sizes = set()
        for icon in manifest["icons"]:
            data = urllib.request.urlopen(served.base + icon["src"], timeout=15).read()
            width, height = png_size(data)
            assert f"{width}x{height}" == icon["sizes"]
            sizes.add(width)
        assert {192, 512} <= sizes
        assert any(icon["purpose"] == "maskable" for icon in manifest["icons"])
        token = served.pair("phone")
        page = urllib.request.urlopen(urllib.request.Request(
            served.base + "/", headers={"Cookie": f"agentdeck_device={token}"})).read().decode()
        assert '<link rel="manifest" href="/app/manifest.webmanifest"' in page
        assert f'<meta name="theme-color" content="{manifest["theme_color"]}"' in page
        assert png_size(urllib.request.urlopen(served.base + "/app/icon-180.png").read()) == (
            180, 180)
        # the start URL (the paired device's cookie carries its token): its page's websocket
        # is the queue's, and the dashboard draws
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=need_chromium(), args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(viewport={"width": 390, "height": 844},
                                              device_scale_factor=3, is_mobile=True,
                                              has_touch=True)
                context.add_cookies([served.cookie(token)])
                page_ = context.new_page()
                screen = PageScreen()
                sockets: list[Any] = []
                page_.on("websocket", lambda ws: (sockets.append(ws), screen.watch(ws)))
                page_.goto(served.base + manifest["start_url"])
                page_.wait_for_selector("body.-first-byte", timeout=30_000)
                assert sockets and sockets[-1].url.split("?")[0].endswith("/ws/queue")

                def drawn() -> bool:
                    page_.evaluate("0")
                    return "approvals (1)" in screen.text()

                wait(drawn, "the dashboard on the queue", timeout=60)
            finally:
                browser.close()


@pytest.mark.parametrize("view", ["queue", ""])
async def test_a_page_opened_on_the_queue_starts_there(demo_deck, monkeypatch,  # noqa: F811
                                                       view: str) -> None:
    deck, _ = demo_deck
    monkeypatch.setenv("AGENTDECK_WEB_VIEW", view)
    app = AgentdeckApp(deck, viewer=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        focused = app.focused.id if app.focused is not None else None
        assert (focused == "approval-table") == (view == "queue"), focused
