"""What the tests of `agentdeck serve` share: a repository whose agent asks a yes/no question
again after each answer, `agentdeck serve` started on it (its output in files), and a page in
Debian's headless Chromium whose terminal is read from the websocket frames the page got."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentdeck.core.screen.terminal import make_emulator
from tests.conftest import free_port, make_repo, requires, run_agentdeck, wait, write_fleet

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# asks again after every answer (each a new occurrence), and keeps every answer, one a line
ASKER = """
import sys
n = 0
while True:
    n += 1
    sys.stdout.write(f"Run make deploy --target src/auth/module_{n}.py? [y/n] ")
    sys.stdout.flush()
    answer = sys.stdin.readline().strip()
    with open(sys.argv[1], "a") as fh:
        fh.write(answer + "\\n")
    print("answer", answer, flush=True)
"""


def need_chromium() -> str:
    requires("Chromium", None if CHROMIUM else "not installed (.ci/run installs it)")
    assert CHROMIUM is not None
    return CHROMIUM


@dataclass
class Served:
    repo: Path
    url: str  # the pairing link `serve` printed
    proc: subprocess.Popen[str] | None
    out: Path
    err: Path
    answers: Path  # the agent's answers, one a line
    ca: Any = None  # a trustme CA the server's certificate is from (TLS tests)
    spent: bool = False  # the printed link paired a device already
    token: str = ""  # a paired device's, when a test keeps one

    @property
    def base(self) -> str:
        return self.url.split("/pair?")[0].rstrip("/")

    def new_link(self, name: str = "") -> str:
        """A new pairing link, from `agentdeck serve --pair` beside the running server."""
        done = run_agentdeck("serve", "--pair", *([name] if name else []), cwd=self.repo)
        match = LINK.search(done.out)
        assert done.code == 0 and match, (done.out, done.err)
        return match.group(1)

    def pair(self, name: str) -> str:
        """Pair a device called `name` (as its browser would: the link's form posted); its
        token, as the cookie carries it."""
        link = self.new_link() if self.spent else self.url
        self.spent = True
        status, token = post_pairing(link, name, self.ssl())
        assert status == 303 and token, status
        return token

    def ssl(self) -> Any:
        if self.ca is None:
            return None
        import ssl

        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    def cookie(self, token: str) -> dict[str, Any]:
        """The device cookie, for a browser context's add_cookies."""
        return {"name": "agentdeck_device", "value": token, "url": self.base + "/"}

    def get(self, path: str, token: str | None = None) -> int:
        """The status of GET `path` as a device with `token` (or none) asks."""
        request = urllib.request.Request(self.base + path, headers={
            "Cookie": f"agentdeck_device={token}"} if token else {})
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.ssl()) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    @property
    def state(self) -> Path:
        from agentdeck.core.git.repo import open_repo

        return open_repo(self.repo).state_dir

    def answered(self) -> list[str]:
        return self.answers.read_text().split() if self.answers.exists() else []

    def log(self) -> str:
        return self.out.read_text() + self.err.read_text()

    def audit(self) -> list[dict[str, Any]]:
        path = self.state / "audit.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def asker_repo(root: Path, fleet_extra: str = "", agents: int = 1,
               start: bool = True) -> tuple[Path, Path]:
    """A repository with `agents` askers (ops, ops2, …), started in the session host unless
    not `start`."""
    repo = make_repo(root)
    asker = root / "asker.py"
    asker.write_text(ASKER)
    answers = root / "answers.txt"
    names = ["ops"] + [f"ops{i}" for i in range(2, agents + 1)]
    listed = ", ".join(f"{{name: {n}, agent: asker, branch: feat/{n}}}" for n in names)
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands: {{asker: "{sys.executable} {asker} {answers}"}}
dashboard: {{agent_size: 90x25}}  # a dashboard that resized agents would show
agents: [{listed}]
{fleet_extra}""")
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    if start:
        assert run_agentdeck("start", cwd=repo).code == 0
    return repo, answers


LINK = re.compile(r"(https?://\S+/pair\?code=[-\w]+)")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post_pairing(link: str, name: str, context: Any = None) -> tuple[int, str | None]:
    """Post the pairing form of `link` for a device called `name`: the status, and the
    token the cookie set (303 and a token when it paired)."""
    base, _, query = link.partition("/pair?")
    code = urllib.parse.parse_qs(query)["code"][0]
    body = urllib.parse.urlencode({"code": code, "name": name}).encode()
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(
        context=context))
    try:
        reply = opener.open(urllib.request.Request(base + "/pair", data=body), timeout=10)
        status, headers = reply.status, reply.headers
    except urllib.error.HTTPError as exc:
        status, headers = exc.code, exc.headers
    found = re.search(r"agentdeck_device=([^;]+)", headers.get("Set-Cookie", ""))
    return int(status), found.group(1) if found else None


@contextmanager
def serving(root: Path, *args: str, fleet_extra: str = "", repo: Path | None = None,
            answers: Path | None = None, link: re.Pattern[str] = LINK,
            env: dict[str, str] | None = None, ca: Any = None,
            start: bool = True) -> Iterator[Served]:
    """`agentdeck serve ARGS` on an asker repository (made unless given), until the block ends;
    waits for the pairing link it prints and for the server to answer (`ca`: the trustme CA
    of its certificate)."""
    if repo is None:
        repo, answers = asker_repo(root, fleet_extra, start=start)
    assert answers is not None
    port = free_port()
    # the server's output goes to files: a pipe nobody drains would block it once full
    out, err = root / "serve.out", root / "serve.err"
    with out.open("w") as out_fh, err.open("w") as err_fh:
        proc = subprocess.Popen([sys.executable, "-m", "agentdeck", "serve", "--port",
                                 str(port), *args], cwd=repo, stdout=out_fh, stderr=err_fh,
                                text=True, env={**os.environ, "COLUMNS": "120", **(env or {})})
    try:
        wait(lambda: link.search(out.read_text()) or proc.poll() is not None,
             "serve to print its link", timeout=60)
        match = link.search(out.read_text())
        assert match, (out.read_text(), err.read_text())
        served = Served(repo, match.group(1), proc, out, err, answers, ca)
        wait(lambda: answers_http(served.base + "/app/manifest.webmanifest", served.ssl())
             or proc.poll() is not None, "the server to answer")
        assert proc.poll() is None, served.log()
        yield served
    finally:
        proc.terminate()
        proc.wait(10)
        run_agentdeck("daemon", "stop", cwd=repo)


def answers_http(url: str, context: Any = None) -> bool:
    """Whether the server answers at all (a 403 is an answer; so is a certificate this
    client does not trust)."""
    import ssl

    try:
        urllib.request.urlopen(url, timeout=2, context=context).read()
    except urllib.error.HTTPError:
        return True
    except urllib.error.URLError as exc:
        return isinstance(exc.reason, ssl.SSLError)
    except ConnectionError:
        return False
    return True


@dataclass
class PageScreen:
    """What a page's terminal shows, read from the frames its websocket received (the page
    draws on a canvas), replayed with the terminal sizes the page asked for in between."""

    # per websocket (a reconnect starts a new one): its frames and sizes, in order
    streams: list[list[bytes | tuple[int, int]]] = field(default_factory=list)
    sizes: list[tuple[int, int]] = field(default_factory=list)

    def watch(self, ws: Any) -> None:
        query = dict(part.split("=", 1) for part in ws.url.partition("?")[2].split("&")
                     if "=" in part)
        events: list[bytes | tuple[int, int]] = [(int(query.get("width", 80)),
                                                  int(query.get("height", 24)))]
        self.streams.append(events)
        ws.on("framereceived", lambda data: events.append(data) if isinstance(data, bytes)
              else None)

        def sent(data: Any) -> None:
            if isinstance(data, str) and data.startswith('["resize"'):
                size = json.loads(data)[1]
                events.append((size["width"], size["height"]))
                self.sizes.append((size["width"], size["height"]))

        ws.on("framesent", sent)

    def lines(self) -> list[str]:
        if not self.streams:
            return []
        events = list(self.streams[-1])
        first = events[0]
        assert isinstance(first, tuple)
        emulator = make_emulator(*first, 100)
        for event in events[1:]:
            if isinstance(event, tuple):
                emulator.resize(*event)
            else:
                emulator.feed(event)
        return emulator.lines()

    def text(self) -> str:
        return "\n".join(self.lines())

    def settled(self, lines: list[str]) -> bool:
        """Whether `lines` are the dashboard drawn at the size the page asked for last (not
        a frame of an earlier size): its header's title is centred on that width, its footer
        on the last row."""
        if not self.sizes or len(lines) != self.sizes[-1][1]:
            return False
        cols = self.sizes[-1][0]
        title = re.search(r"agentdeck( — \d+ waiting)?", lines[0]) if lines else None
        if not (title and abs(title.start() + title.end() - cols) <= 3 and "quit" in lines[-1]):
            return False
        # the layout of that width, not the last one's (Textual draws a resized screen once
        # with the old width's classes): below 110 columns the queue spans the whole width
        queue = next((line for line in lines if "─ approvals" in line), "")
        return (queue.find("╮") == cols - 1) == (cols < 110)


def wait_for_buttons(page: Any, screen: PageScreen, served: Served,
                     more: str = "q quit") -> tuple[int, list[str]]:
    """The screen once the page draws the answer buttons (and `more`) in its final layout,
    and their labels' row. Final: drawn at the size the page asked for, in that width's
    layout, and the same when the request's age ticked (the dashboard's first frames, and
    those after a resize, may show the layout of another width)."""
    seen: list[tuple[list[str], str]] = []

    def drawn() -> bool:
        # Playwright's sync API hands its events (the frames) to Python only while a call of
        # it runs: each look makes one
        page.evaluate("0")
        lines = screen.lines()
        shape = re.sub(r"\d", "0", "\n".join(lines))
        ready = (screen.settled(lines) and more in shape
                 and any(" allow " in line and " deny" in line for line in lines))
        if not ready or not seen or seen[0][1] != shape:
            seen[:] = [(lines, shape)] if ready else []
            return False
        return seen[0][0] != lines  # the same layout, an age later

    try:
        wait(drawn, "the answer buttons", timeout=60)
    except AssertionError:
        raise AssertionError("the page never drew the buttons:\n" + screen.text()
                             + "\nserver:\n" + served.log()[-3000:]) from None
    lines = seen[0][0]
    return next(n for n, line in enumerate(lines) if " allow " in line and " deny" in line), lines


def open_page(browser: Any, served: Served, token: str, width: int, height: int,
              scale: float, mobile: bool) -> tuple[Any, PageScreen]:
    """The dashboard's page in a new browser context, a paired device's (`token`: its
    cookie)."""
    context = browser.new_context(viewport={"width": width, "height": height},
                                  device_scale_factor=scale, is_mobile=mobile,
                                  has_touch=mobile)
    context.add_cookies([served.cookie(token)])
    page = context.new_page()
    screen = PageScreen()
    page.on("websocket", screen.watch)
    page.goto(served.base + "/")
    # textual-serve marks the body once the app's first bytes arrived
    page.wait_for_selector("body.-first-byte", timeout=30_000)
    return page, screen
