"""Rate limits: the reset time an agent prints, and (opt-in) resuming it when that time comes —
with an injected clock and timer, so nothing waits."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timedelta
from pathlib import Path

from agentdeck.core.agents.sessions import LocalHost, SessionSpec
from agentdeck.core.oversight.ratelimit import MARGIN, Resumer, reset_at
from tests.conftest import wait

NOW = datetime(2026, 11, 25, 14, 50, 0)


def test_reset_texts() -> None:
    assert reset_at("resets 3pm", NOW) == NOW.replace(hour=15, minute=0)
    assert reset_at("resets at 15:30", NOW) == NOW.replace(hour=15, minute=30)
    assert reset_at("reset at 2pm", NOW) == NOW.replace(hour=14, minute=0) + timedelta(days=1)
    assert reset_at("resets 12am", NOW) == datetime(2026, 11, 26, 0, 0)
    assert reset_at("try again in 5 minutes", NOW) == NOW + timedelta(minutes=5)
    assert reset_at("retry after 30s", NOW) == NOW + timedelta(seconds=30)
    assert reset_at("try again in 2 hours", NOW) == NOW + timedelta(hours=2)
    assert reset_at("limit 5 reached", NOW) is None


LIMITED = """
import sys
print("Claude usage limit reached. Your limit will reset at 3pm.", flush=True)
line = sys.stdin.readline()
open(sys.argv[1], "w").write(line)
print("carrying on", flush=True)
"""


def test_a_rate_limited_agent_is_resumed_when_its_limit_resets(tmp_path: Path) -> None:
    script, got = tmp_path / "limited.py", tmp_path / "got.txt"
    script.write_text(LIMITED)
    host = LocalHost()
    timers: list[tuple[float, object]] = []
    resumer = Resumer(host, "continue", now=lambda: NOW,
                      timer=lambda delay, fn: timers.append((delay, fn)))
    try:
        host.spawn(SessionSpec("w", [sys.executable, str(script), str(got)], str(tmp_path),
                               dict(os.environ), agent="claude", cols=80, rows=10))
        info = host.wait_for("w", lambda i: i.state == "rate-limited")
        assert info.detection.reset == "reset at 3pm"
        assert [round(d) for d, _ in timers] == [(timedelta(minutes=10) + MARGIN).seconds]
        timers[0][1]()  # the time has come
        host.wait_for("w", lambda i: "carrying on" in "\n".join(host.snapshot("w")))
        assert got.read_text() == "continue\n"
    finally:
        resumer.close()
        host.close()


def test_an_agent_that_carried_on_by_itself_is_left_alone(tmp_path: Path) -> None:
    script, got = tmp_path / "limited.py", tmp_path / "got.txt"
    script.write_text(LIMITED)
    host = LocalHost()
    timers: list[tuple[float, object]] = []
    resumer = Resumer(host, now=lambda: NOW, timer=lambda d, fn: timers.append((d, fn)))
    try:
        host.spawn(SessionSpec("w", [sys.executable, str(script), str(got)], str(tmp_path),
                               dict(os.environ), agent="claude", cols=80, rows=10))
        host.wait_for("w", lambda i: i.state == "rate-limited")
        host.write("w", b"go on myself\r")
        host.wait_for("w", lambda i: i.state != "rate-limited", timeout=10)
        timers[0][1]()
        wait(lambda: got.exists() and got.read_text() == "go on myself\n", "its own answer")
    finally:
        resumer.close()
        host.close()


def test_daemon_status_says_when_a_limit_resets(tmp_path: Path) -> None:
    from agentdeck.daemon import lifecycle
    from tests.conftest import make_repo, run_agentdeck

    repo = make_repo(tmp_path)
    script, got = tmp_path / "limited.py", tmp_path / "got.txt"
    script.write_text(LIMITED)
    state = repo / ".git" / "agentdeck"
    host = lifecycle.ensure(state, None)
    try:
        host.spawn(SessionSpec("w", [sys.executable, str(script), str(got)], str(tmp_path),
                               dict(os.environ), agent="claude", cols=80, rows=10))
        host.wait_for("w", lambda i: i.state == "rate-limited")
        status = run_agentdeck("daemon", "status", cwd=repo)
        assert status.code == 0 and "rate-limited (reset at 3pm)" in status.out, status.out
    finally:
        host.close()
        lifecycle.stop(state)


def test_the_limit_detail_goes_beside_the_state_wherever_the_state_is_shown() -> None:
    """"rate-limited" stays the state's name; what the limit is doing goes beside it, in the
    session host's label (`ls`, the sidebar's row), over the daemon's wire, and in `ls` through
    the daemon's quick path."""
    from agentdeck.core.agents.sessions import SessionInfo
    from agentdeck.core.agents.sessions.host import state_label
    from agentdeck.core.fleet.views import limit_text, state_text
    from agentdeck.core.screen.detect import Detection
    from agentdeck.daemon import protocol

    retrying = Detection("rate-limited", detail="retrying, 2/10")
    gave_up = Detection("rate-limited", reset="resets 3pm", detail="gave up: 429")
    for detection, label in ((retrying, "rate-limited (retrying, 2/10)"),
                             (gave_up, "rate-limited (gave up: 429 · resets 3pm)"),
                             (Detection("rate-limited", reset="resets 3pm"),
                              "rate-limited (resets 3pm)"),
                             (Detection("rate-limited"), "rate-limited")):
        info = SessionInfo("a", "claude", state="rate-limited", detection=detection)
        assert state_label(info) == label
        back = protocol.info_from_wire(protocol.info_to_wire(info))
        assert back.detection == detection and state_label(back) == label
    assert state_text("working", None, None, "retrying, 1/3") == "working"
    assert limit_text(None, "retrying, 1/3") == "retrying, 1/3"
    assert Detection("rate-limited", detail="gave up: 429").as_json() == {
        "state": "rate-limited", "prompt": None, "detail": "gave up: 429"}


async def test_the_sidebar_says_how_a_rate_limit_goes(tmp_path: Path) -> None:
    """A Claude Code screen retrying after a 429 (captured from the real CLI): the sidebar's
    row reads rate-limited with "retrying, 1/3" beside it, not a bare state."""
    import sys

    from agentdeck.core.deck import Deck
    from agentdeck.core.engine.engine import Engine
    from agentdeck.core.fleet.schema import load_fleet
    from agentdeck.core.git.repo import open_repo
    from agentdeck.ui.app import AgentdeckApp
    from tests.conftest import make_repo, until, write_fleet

    screen = Path(__file__).parent / "fixtures" / "corpus" / \
        "claude-2.1.328-retrying-120x40-1.txt"
    show = tmp_path / "show.py"
    show.write_text("import sys, time\ntext = open(sys.argv[1], encoding='utf-8').read()\n"
                    "sys.stdout.write(text.rstrip('\\n').replace('\\n', '\\r\\n'))\n"
                    "sys.stdout.flush()\ntime.sleep(600)\n")
    repo = make_repo(tmp_path)
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands: {{claude: "{sys.executable} {show} {screen}"}}
agents: [{{name: c, branch: feat/c, agent: claude}}]
dashboard: {{agent_size: 120x40}}
""")
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    deck = Deck.open(ctx, fleet)
    try:
        app = AgentdeckApp(deck)
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: app.dashboard.rows.get("c") is not None
                        and app.dashboard.rows["c"].state == "rate-limited", 20)
            assert app.dashboard.rows["c"].detail == "retrying, 1/3"
    finally:
        deck.close()


def test_the_quick_word_tests_let_through_every_text_the_patterns_match() -> None:
    """Detection first looks for a word every match contains (a substring test, where the
    patterns' searches took most of a streaming screen's detection): each way the patterns
    match passes it, in any case."""
    from agentdeck.core.screen.detect import base, menus

    limits = ["Usage limit reached", "rate limited", "rate_limit_error", "status 429",
              "Too Many Requests", "Quota exceeded", "RESOURCE_EXHAUSTED",
              "You've hit your usage limit", "limit reached · resets 3pm",
              "API Error · retrying in 24s", "Server is busy", "reconnecting 2/5",
              "exceeded retry limit"]
    footers = ["Enter to confirm", "enter to select", "Esc to cancel", "esc to exit",
               "esc to go back", "↑/↓ to move", "use arrow keys", "↑↓ to navigate",
               "Tab to amend", "enter continue", "Enter submit", "esc back", "Esc cancel"]
    for texts, pattern, words in ((limits, base.RATE_LIMIT_RE, base._LIMIT_WORDS),
                                  (footers, menus._FOOTER, menus._FOOTER_WORDS)):
        for text in texts:
            for variant in (text, text.upper(), text.lower()):
                assert pattern.search(variant), variant
                assert any(word in variant.lower() for word in words), variant
