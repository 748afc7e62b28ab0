"""The queue's contract (DESIGN.md, oversight invariants 2 and 4), on a real PTY:

- a prompt hidden by a resize or a redraw stays queued, same entry, nothing audited;
- a prompt the agent takes back leaves only after the settle window, as "withdrawn by the agent";
- keys typed in the agent's pane while its prompt is drawn are recorded as the answer, by whom
  and with what keys;
- an agent that exits withdraws its prompt; every removal has an audit line.

The queue's clock is the test's: the settle window passes only when the test says so."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agentdeck.core.agents.sessions import Event, LocalHost, SessionSpec
from agentdeck.core.oversight.approvals import (
    ALLOW,
    SETTLE_WINDOW,
    WITHDRAWN,
    ApprovalQueue,
    StaleAnswer,
)
from tests.conftest import wait

# Asks, blanks its screen on SIGWINCH and redraws only when told (a file appears), takes its
# question back when told, and exits after an answer.
ASKER = r"""
import os, select, signal, sys
ctl = sys.argv[1]
Q = "Run make deploy? [y/n] "
def draw():
    os.write(1, b"\x1b[2J\x1b[Hworking on the release\r\n" + Q.encode())
def blank(*_):
    os.write(1, b"\x1b[2J\x1b[H")
signal.signal(signal.SIGWINCH, blank)
draw()
while True:
    ready, _, _ = select.select([0], [], [], 0.02)
    if ready:
        line = sys.stdin.readline().strip()
        os.write(1, f"\r\ngot {line}\r\n".encode())
        sys.exit(0)
    for name in os.listdir(ctl):
        os.unlink(os.path.join(ctl, name))
        if name == "redraw":
            draw()
        elif name == "withdraw":
            os.write(1, b"\r\x1b[Knever mind, doing it another way\r\n")
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def asking(tmp_path: Path):
    script, ctl = tmp_path / "asker.py", tmp_path / "ctl"
    script.write_text(ASKER)
    ctl.mkdir()
    host, clock = LocalHost(), Clock()
    audit = tmp_path / "audit.jsonl"
    queue = ApprovalQueue(host, audit, clock=clock)
    host.spawn(SessionSpec("ops", [sys.executable, str(script), str(ctl)], str(tmp_path),
                           dict(os.environ), agent="shell", cols=100, rows=30))
    wait(lambda: queue.pending(), "the prompt in the queue")
    yield host, queue, clock, ctl, audit
    queue.close()
    host.close()


def audited(audit: Path) -> list[dict[str, str]]:
    return [json.loads(x) for x in audit.read_text().splitlines()] if audit.exists() else []


def drawn(host: LocalHost) -> bool:
    return host.redetect("ops").prompt is not None


def test_a_resize_that_hides_the_prompt_loses_nothing(asking) -> None:
    host, queue, clock, ctl, audit = asking
    entry = queue.pending()[0]
    for cols, rows in ((60, 20), (300, 80), (80, 24)):
        host.resize("ops", cols, rows)
        wait(lambda: not drawn(host) and host.info("ops").detection.prompt is None, "blank")
        assert [e.id for e in queue.pending()] == [entry.id]  # hidden, still queued
        clock.now += SETTLE_WINDOW / 2
        queue.sweep()
        assert [e.id for e in queue.pending()] == [entry.id]
        (ctl / "redraw").touch()
        wait(lambda: host.info("ops").detection.prompt is not None, "the redraw")
    clock.now += 10 * SETTLE_WINDOW  # long after: it was on screen all along
    queue.sweep()
    assert [(e.id, e.created, e.summary) for e in queue.pending()] == [
        (entry.id, entry.created, entry.summary)]
    assert not queue.history and audited(audit) == []


def test_a_prompt_the_agent_takes_back_is_withdrawn_after_the_settle_window(asking) -> None:
    host, queue, clock, ctl, audit = asking
    entry = queue.pending()[0]
    (ctl / "withdraw").touch()
    wait(lambda: host.info("ops").detection.prompt is None, "the question to go")
    queue.sweep()
    assert [e.id for e in queue.pending()] == [entry.id]  # not yet: it may come back
    clock.now += SETTLE_WINDOW + 0.1
    queue.sweep()
    assert queue.pending() == []
    [line] = audited(audit)
    assert (line["decision"], line["by"], line["summary"]) == (
        WITHDRAWN, "agent", "Run make deploy?")
    assert "answered" not in json.dumps(line)


def test_keys_typed_in_the_pane_are_the_audited_answer(asking) -> None:
    host, queue, _clock, _ctl, audit = asking
    queue.typed("ops", b"y\r")
    host.write("ops", b"y\r")
    wait(lambda: not queue.pending(), "the answered entry to leave")  # no settle window
    [line] = audited(audit)
    assert (line["decision"], line["by"], line["via"], line.get("keys")) == (
        "allow", "user", "pane", "y\\r"), line
    wait(lambda: "got y" in "\n".join(host.snapshot("ops")), "the agent to take it")


class HeardLate:
    """A session host whose events reach the queue only when the test lets them: as when the
    look that would see a prompt go has not come yet (a streaming screen is read every 150 ms,
    a loaded machine later still)."""

    def __init__(self, host: LocalHost) -> None:
        self.host = host
        self.held: list[tuple[Callable[[Event], None], Event]] | None = None

    def __getattr__(self, name: str) -> object:
        return getattr(self.host, name)

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        def relay(event: Event) -> None:
            if self.held is not None:
                self.held.append((listener, event))
            else:
                listener(event)
        return self.host.subscribe(relay)


def test_keys_typed_in_the_pane_stay_the_answer_when_a_late_answer_comes(tmp_path) -> None:
    """The user answered in the pane; before the queue heard the prompt go, an answer came
    from the queue (another dashboard, a phone): it is refused, and the audit says the user
    answered in the pane with those keys — not that the agent withdrew it."""
    script, ctl, audit = tmp_path / "asker.py", tmp_path / "ctl", tmp_path / "audit.jsonl"
    script.write_text(ASKER)
    ctl.mkdir()
    host, clock = LocalHost(), Clock()
    late = HeardLate(host)
    queue = ApprovalQueue(late, audit, clock=clock)  # type: ignore[arg-type]
    try:
        host.spawn(SessionSpec("ops", [sys.executable, str(script), str(ctl)], str(tmp_path),
                               dict(os.environ), agent="shell", cols=100, rows=30))
        wait(lambda: queue.pending(), "the prompt in the queue")
        [entry] = queue.pending()
        late.held = []
        queue.typed("ops", b"y\r")
        host.write("ops", b"y\r")
        wait(lambda: "got y" in "\n".join(host.snapshot("ops")), "the agent to take it")
        clock.now += 10 * SETTLE_WINDOW  # (no settle wait before the answer)
        with pytest.raises(StaleAnswer):
            queue.answer(entry.id, ALLOW)
        [line] = audited(audit)
        assert (line["decision"], line["by"], line["via"], line.get("keys")) == (
            "allow", "user", "pane", "y\\r"), line
    finally:
        queue.close()
        host.close()


def test_an_agent_that_exits_withdraws_its_prompt(asking) -> None:
    host, queue, _clock, _ctl, audit = asking
    host.write("ops", b"\x04")  # end of input: readline returns "", the asker exits
    wait(lambda: not queue.pending(), "the entry to leave")
    [line] = audited(audit)
    assert (line["decision"], line["why"]) == (WITHDRAWN, "the agent exited")


def test_a_broken_listener_neither_stops_an_answer_nor_the_others(asking, caplog) -> None:
    """core.listeners' one policy, on the queue and the session host that feeds it: a listener
    that raises is logged, the answer still goes and is audited, and every other listener (the
    queue's own subscription to the host among them) still hears of it."""
    host, queue, _clock, _ctl, audit = asking

    def broken(*_args: object) -> None:
        raise RuntimeError("a closed dashboard's listener")

    told: list[int] = []
    queue.on_change(broken)
    queue.on_change(lambda: told.append(len(queue.pending())))
    host.subscribe(broken)
    entry = queue.pending()[0]
    record = queue.answer(entry.id, ALLOW)
    assert record.decision == ALLOW and not queue.pending() and told[-1] == 0
    wait(lambda: "got y" in "\n".join(host.snapshot("ops")), "the agent to take it")
    wait(lambda: host.info("ops").process != "running", "the agent to exit")
    assert [line["decision"] for line in audited(audit)] == [ALLOW]
    assert "a listener of the approvals queue failed" in caplog.text
    assert "a listener of the sessions' events failed" in caplog.text
