"""`agentdeck serve` on real phones' and laptops' settings, in Debian's headless Chromium:
390x844 and 412x915 at device scale 1, 2 and 3, portrait and landscape, and a 1280x800 laptop
at scale 1 and 2. At each, the terminal's canvas holds device-scale pixels per CSS pixel (at
scale 3 it once held one, and the page showed a third of the dashboard three times too big),
the dashboard's whole width is in view, allow / always / deny are on screen as buttons at
least 44 CSS px tall, and a tap (a click on the laptop) answers. A screenshot of each is kept
(the folder is printed; pytest keeps its last runs' temporary folders)."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentdeck.daemon import lifecycle
from agentdeck.daemon.client import RemoteQueue
from tests.conftest import wait
from tests.served import (
    CHROMIUM_ARGS,
    Served,
    need_chromium,
    open_page,
    serving,
    wait_for_buttons,
)

PHONES = [(390, 844), (412, 915)]
CASES = [(w, h, scale, True) for width, height in PHONES for scale in (1, 2, 3)
         for w, h in ((width, height), (height, width))]
CASES += [(1280, 800, 1, False), (1280, 800, 2, False)]
TAP = 44  # CSS px: the smallest target a thumb hits reliably (Apple's and Google's guides)

# the page as the browser shows it: its ratio, the viewport, the terminal's canvas and screen
METRICS = """() => {
  const canvas = document.querySelector('.xterm-screen canvas');
  const box = document.querySelector('.xterm-screen').getBoundingClientRect();
  return {ratio: devicePixelRatio, width: innerWidth, height: innerHeight,
          scrollWidth: document.documentElement.scrollWidth,
          canvas: [canvas.width, canvas.height, canvas.clientWidth, canvas.clientHeight],
          box: [box.x, box.y, box.width, box.height]};
}"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serving(tmp_path_factory.mktemp("scales")) as served:
        served.token = served.pair("phone")
        yield served


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go: $AGENTDECK_SCREENSHOTS (pytest keeps only its last three
    runs' temporary folders, and other runs on the machine count), else a temporary folder."""
    chosen = os.environ.get("AGENTDECK_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots of the served dashboard: {folder}")
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    chromium = need_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.parametrize(("width", "height", "scale", "mobile"), CASES,
                         ids=[f"{w}x{h}@{s}" for w, h, s, _ in CASES])
def test_the_page_is_right_at_every_scale(served: Served, browser: Any, screenshots: Path,
                                         width: int, height: int, scale: int,
                                         mobile: bool) -> None:
    watcher = lifecycle.ensure(served.state, None)
    queue = RemoteQueue(watcher)
    try:
        wait(queue.pending, "the agent's prompt in the queue")
        [entry] = queue.pending()
        before = len(served.answered())
        page, screen = open_page(browser, served, served.token, width, height, scale,
                                     mobile)
        try:
            row, lines = wait_for_buttons(page, screen, served)
            page.screenshot(path=screenshots / f"{width}x{height}@{scale}.png")
            seen = page.evaluate(METRICS)
            cols, rows = screen.sizes[-1]
            # the canvas has the device's pixels: scale of them per CSS pixel
            pixels, _, css, _ = seen["canvas"]
            assert seen["ratio"] == scale and abs(pixels / css - scale) < 0.01 * scale, seen
            # the whole dashboard is in view: the terminal inside the viewport, nothing to
            # scroll sideways, and the dashboard drawn at the columns the page asked for
            x, y, box_width, box_height = seen["box"]
            assert x >= 0 and y >= 0 and x + box_width <= seen["width"], seen
            assert y + box_height <= seen["height"] and seen["scrollWidth"] <= seen["width"]
            assert len(lines) == rows and all(len(line) <= cols for line in lines)
            # the buttons: on screen, three rows tall (at least 44 CSS px), wide enough
            cell_w, cell_h = box_width / cols, box_height / rows
            col = lines[row].index(" allow ") + 3
            assert 3 * cell_h >= TAP and (lines[row].index(" deny") - col) * cell_w >= TAP
            tap_x, tap_y = x + (col + 0.5) * cell_w, y + (row + 0.5) * cell_h
            assert tap_y + 1.5 * cell_h <= seen["height"], (row, rows, seen)
            if mobile:
                page.touchscreen.tap(tap_x, tap_y)
            else:
                page.mouse.click(tap_x, tap_y)
            try:
                wait(lambda: len(served.answered()) > before,
                     "the tap's answer to reach the agent", timeout=30)
            except AssertionError:
                page.screenshot(path=screenshots / f"{width}x{height}@{scale}-after.png")
                raise AssertionError(f"the tap at row {row}, column {col} did not answer:\n"
                                     + "\n".join(lines) + "\nnow:\n" + screen.text()) from None
            assert served.answered()[before:] == ["y"]
            wait(lambda: entry.id not in {e.id for e in queue.pending()},
                 "the entry to leave the queue")
        finally:
            page.context.close()
    finally:
        queue.close()
        watcher.close()
    mine = [a for a in served.audit() if a["summary"] == entry.summary]
    assert [(a["decision"], a["via"], a["device"]) for a in mine] == [
        ("allow", "web", "phone")], mine


def test_the_page_follows_a_rotation_and_a_zoom(served: Served, browser: Any,
                                               screenshots: Path) -> None:
    """A phone turned to landscape, then a zoom (the device's pixel ratio changes): the
    terminal fits the new viewport and draws at the new ratio each time."""
    page, screen = open_page(browser, served, served.token, 390, 844, 3, True)
    try:
        wait_for_buttons(page, screen, served)
        portrait = screen.sizes[-1]

        def looks(cols_above: int, ratio: float) -> bool:
            seen = page.evaluate(METRICS)
            pixels, _, css, _ = seen["canvas"]
            return screen.sizes[-1][0] > cols_above and abs(pixels / css - ratio) < 0.01 * ratio

        page.set_viewport_size({"width": 844, "height": 390})
        wait(lambda: looks(portrait[0], 3), "the page to fit the landscape viewport")
        page.screenshot(path=screenshots / "rotated-844x390@3.png")
        landscape = screen.sizes[-1]
        # a zoom out to two thirds: CSS pixels get smaller, more columns fit, ratio 2
        cdp = page.context.new_cdp_session(page)
        cdp.send("Emulation.setDeviceMetricsOverride", {
            "width": 1266, "height": 585, "deviceScaleFactor": 2, "mobile": True})
        wait(lambda: looks(landscape[0], 2), "the page to fit the zoomed viewport")
        # (through the same CDP session: Playwright's own screenshot restores its viewport)
        shot = cdp.send("Page.captureScreenshot", {"format": "png"})
        (screenshots / "zoomed-1266x585@2.png").write_bytes(base64.b64decode(shot["data"]))
    finally:
        page.context.close()
