"""The real Claude Code and Codex CLI, pinned and newest, against a model server that answers
429 Too Many Requests: the dashboard's state says "rate-limited (retrying, k/N)" within 5 s of
the CLI's first retry line, and "rate-limited (gave up: 429)" once the CLI gave up, until the
user sends anything.

Two runs of each: the server refuses a few calls, then answers (the CLI's retries succeed: the
state goes on to the prompt its scripted reply brings); and it refuses every call (the retries
are exhausted: gave up). The screen detector alone reads the state (no hooks).
"""

from __future__ import annotations

import os
import re
import shlex
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agentdeck.core.agents.sessions import LocalHost, SessionSpec
from agentdeck.core.agents.sessions.host import state_label
from tests import conftest
from tests.conftest import requires
from tests.e2e import real_agents
from tests.e2e.fake_limits import MoodyServer
from tests.e2e.fake_models import Script

# the CLI's own retry line, as it draws it (read from the screen, not from any detector)
RETRY_LINE = {"claude": re.compile(r"retrying in \d+s · attempt 1/"),
              "codex": re.compile(r"reconnecting 1/\d")}
# refusals the CLI retries through before its call succeeds (Codex retries each request once
# itself before it draws "reconnecting")
SOME = {"claude": 2, "codex": 4}
VERSIONS = ["pinned", "newest"]


def wait(condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    conftest.wait(condition, what, timeout, poll=0.05)


@pytest.fixture(params=VERSIONS)
def version(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The pinned CLIs, or the newest installed beside them (.cache/agents-newest)."""
    if request.param == "newest":
        folder = real_agents.newest_dir()
        requires("the newest Claude Code and Codex", None if folder.exists() else (
            f"not installed in {folder} (scripts/install_agents.sh installs them)"))
        monkeypatch.setenv("AGENTDECK_AGENTS_DIR", str(folder))
    return str(request.param)


@pytest.mark.parametrize("cli", ["claude", "codex"])
@pytest.mark.parametrize("exhausted", [False, True], ids=["retries-succeed", "gave-up"])
def test_rate_limited_while_retrying_and_when_it_gave_up(cli: str, exhausted: bool, version: str,
                                                         tmp_path: Path) -> None:
    real_agents.require(cli)
    worktree = tmp_path / "wt"
    worktree.mkdir()
    server = MoodyServer(Script(), cwd=worktree, refuse=None if exhausted else SOME[cli],
                         log_path=tmp_path / "requests.jsonl").start()
    setup = real_agents.SETUPS[cli](tmp_path / "home", worktree, server.url)
    env = {**os.environ, **setup.env}
    if cli == "claude":
        env["CLAUDE_CODE_MAX_RETRIES"] = "3"  # (its default, 10, backs off for minutes)
    argv = [token.format(task="make the notes", prompt="make the notes", brief="A worker.",
                         brief_file="/dev/null") for token in shlex.split(setup.command)]
    host = LocalHost()
    labels: list[str] = []
    host.subscribe(lambda e: labels.append(state_label(e.info)) if e.kind == "state" else None)
    try:
        host.spawn(SessionSpec(cli, argv, str(worktree), env, agent=cli, cols=120, rows=40))

        def screen() -> str:
            return "\n".join(host.snapshot(cli))

        try:
            wait(lambda: RETRY_LINE[cli].search(screen()), "its first retry line")
        except AssertionError:
            raise AssertionError(f"no retry line; screen:\n{screen()}") from None
        seen = time.monotonic()
        # within 5 s of the first retry line (a wait on the condition, not a timed assertion)
        wait(lambda: state_label(host.info(cli)).startswith("rate-limited (retrying, "),
             f"rate-limited (retrying, …) after the retry line ({time.monotonic() - seen:.1f}s);"
             f" states: {labels}; screen:\n{screen()}", timeout=5)
        if not exhausted:  # its retry succeeds: the scripted reply's command asks
            wait(lambda: host.info(cli).state == "waiting", f"its prompt; states: {labels}")
            assert host.info(cli).detection.prompt is not None
            return
        wait(lambda: state_label(host.info(cli)) == "rate-limited (gave up: 429)",
             f"gave up: 429; states: {labels}; screen:\n{screen()}", timeout=90)
        assert state_label(host.info(cli)) == "rate-limited (gave up: 429)"
        # until the user sends anything: the server answers again, the message is sent
        server.refuse = len(server.refused)
        host.write(cli, b"go on")
        wait(lambda: "go on" in screen(), "the message typed")
        assert host.info(cli).state == "rate-limited"  # typed, not yet sent
        host.write(cli, b"\r")
        wait(lambda: host.info(cli).state != "rate-limited",
             f"a state past the limit after the message; states: {labels}; screen:\n{screen()}")
    finally:
        host.close()
        server.stop()
        if cli == "codex":
            real_agents.stop_codex_daemon(env, tmp_path)
