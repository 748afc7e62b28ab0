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
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agentdeck.core.terminal import make_emulator
from tests.conftest import free_port, make_repo, run_agentdeck, wait, write_fleet

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
    if CHROMIUM is None:
        message = "chromium is not installed (.ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@dataclass
class Served:
    repo: Path
    url: str  # the link `serve` printed (with its token or pairing code)
    proc: subprocess.Popen[str]
    out: Path
    err: Path
    answers: Path  # the agent's answers, one a line
    ca: Any = None  # a trustme CA the server's certificate is from (TLS tests)

    @property
    def base(self) -> str:
        return self.url.split("?")[0].rstrip("/")

    @property
    def state(self) -> Path:
        from agentdeck.core.repo import open_repo

        return open_repo(self.repo).state_dir

    def answered(self) -> list[str]:
        return self.answers.read_text().split() if self.answers.exists() else []

    def log(self) -> str:
        return self.out.read_text() + self.err.read_text()

    def audit(self) -> list[dict[str, Any]]:
        path = self.state / "audit.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def asker_repo(root: Path, fleet_extra: str = "", agents: int = 1) -> tuple[Path, Path]:
    """A repository with `agents` askers (ops, ops2, …) started in the session host."""
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
    assert run_agentdeck("start", cwd=repo).code == 0
    return repo, answers


LINK = re.compile(r"(https?://\S+/\?(?:token|pair)=\S+)")


@contextmanager
def serving(root: Path, *args: str, fleet_extra: str = "", repo: Path | None = None,
            answers: Path | None = None, link: re.Pattern[str] = LINK,
            env: dict[str, str] | None = None) -> Iterator[Served]:
    """`agentdeck serve ARGS` on an asker repository (made unless given), until the block ends;
    waits for the link it prints."""
    if repo is None:
        repo, answers = asker_repo(root, fleet_extra)
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
        yield Served(repo, match.group(1), proc, out, err, answers)
    finally:
        proc.terminate()
        proc.wait(10)
        run_agentdeck("daemon", "stop", cwd=repo)


def answers_http(url: str, context: Any = None) -> bool:
    """Whether the server answers at all (a 403 is an answer)."""
    try:
        urllib.request.urlopen(url, timeout=2, context=context).read()
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, ConnectionError):
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
