"""Invariant 7, a prompt is an occurrence: the same question asked again — after `y`, after `n`,
with the old question and its answer still visible above, on a full screen that scrolls, in a
full-screen dialog drawn again where the old one stood, after a restart, by an agent made again
under the same name — is a new queue entry; the prompt still on screen before the agent took the
answer is not. Real PTYs, scripted agents; then 1,000 random sequences of those events across
three agents: no prompt missed, none queued twice, nothing withdrawn or "not taken"."""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

import pytest

from agentdeck.core.agents.sessions import LocalHost, SessionSpec
from agentdeck.core.oversight.approvals import WITHDRAWN, ApprovalQueue
from tests.conftest import wait

SEQUENCES = 1000

# A shell script asking the same y/n question forever; after each answer it prints what it did
# — nothing, or a few lines — chosen by the answer's count (so a run is the same every time).
LOOP = r"""
n=0
while true; do
  printf 'Run rm -rf build? [y/n] '
  read answer
  n=$((n + 1))
  i=0
  while [ $i -lt $((n % 3)) ]; do echo "removing build/part$i"; i=$((i + 1)); done
done
"""

# A full-screen dialog in Claude Code's style, drawn again for the same command after each
# answer (clear, transcript, dialog): the occurrence is the same text at the same place.
DIALOG = r"""
import os, sys, tty
tty.setraw(0)
turn = 0
while True:
    out = "\x1b[2J\x1b[H" + "".join(f"⏺ Bash(npm test) run {i}\r\n  ⎿ ok\r\n" for i in range(turn))
    out += ("\r\n Bash command\r\n\r\n   npm test\r\n   Run the tests\r\n\r\n"
            " Do you want to proceed?\r\n > 1. Yes\r\n   2. No\r\n\r\n Esc to cancel\r\n")
    os.write(1, out.encode())
    key = os.read(0, 16)
    turn += 1
    os.write(1, b"\x1b[2J\x1b[H\xe2\x8f\xba Running\xe2\x80\xa6\r\n")
"""


def spawn(host: LocalHost, tmp_path: Path, name: str, kind: str, rows: int = 30) -> None:
    if kind == "dialog":
        script = tmp_path / "dialog.py"
        script.write_text(DIALOG)
        argv, agent = [sys.executable, str(script)], "claude"
    else:
        script = tmp_path / "loop.sh"
        script.write_text(LOOP)
        argv, agent = ["/bin/sh", str(script)], "shell"
    host.spawn(SessionSpec(name, argv, str(tmp_path), dict(os.environ), agent=agent,
                           cols=100, rows=rows))


class Clock:
    """The queue's clock: the test's, so an answer waits for no settle time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def queued(queue: ApprovalQueue, name: str, after: int) -> int:
    """Wait for `name`'s entry newer than id `after`; its id. Never two of one agent."""
    def ready() -> bool:
        mine = [e for e in queue.pending() if e.agent == name]
        assert len(mine) <= 1, f"{name} queued twice: {mine}"
        return bool(mine) and mine[0].id > after

    wait(ready, f"{name}'s prompt queued again (after entry {after})", 15, poll=0.005)
    if isinstance(queue.clock, Clock):  # (its settle time before keys may go has passed)
        queue.clock.now += 1.0
    entry = queue.entry_for(name)
    assert entry is not None
    return entry.id


@pytest.mark.parametrize("kind,rows", [("loop", 30), ("loop", 6), ("dialog", 30)],
                         ids=["old-answer-above", "full-screen-scrolls", "dialog-redrawn"])
def test_the_same_question_asked_again_is_queued_again(tmp_path: Path, kind: str,
                                                       rows: int) -> None:
    host, clock = LocalHost(), Clock()
    queue = ApprovalQueue(host, tmp_path / "audit.jsonl", clock=clock)
    try:
        spawn(host, tmp_path, "a", kind, rows)
        last = queued(queue, "a", 0)
        for decision in ("allow", "deny", "allow", "deny", "allow", "allow"):
            queue.answer(last, decision)
            last = queued(queue, "a", last)
        # restarted, and made again under its name: the same question is new each time
        host.stop("a")
        spawn(host, tmp_path, "a", kind, rows)
        last = queued(queue, "a", last)
        host.forget("a")
        spawn(host, tmp_path, "a", kind, rows)
        last = queued(queue, "a", last)
        records = [(r.decision, r.by) for r in queue.history]
        assert [d for d, _ in records].count("withdrawn") <= 2  # (the two ended processes)
        assert not any(d == "not taken by the agent" for d, _ in records), records
    finally:
        queue.close()
        host.close()


def test_an_answer_not_yet_taken_keeps_its_prompt_out_of_the_queue(tmp_path: Path) -> None:
    """An agent that reads its answer only after a moment (its terminal echoes the keys at
    once) shows the answered question meanwhile: that is the answered occurrence, not a new
    one, and it is not "not taken"; what it asks after reading is."""
    script = tmp_path / "slow.sh"
    script.write_text("while true; do printf 'Run make? [y/n] '; sleep 0.3; read -r a; "
                      "echo \"making ($a)\"; done\n")
    host, clock = LocalHost(), Clock()
    queue = ApprovalQueue(host, tmp_path / "audit.jsonl", clock=clock)
    try:
        host.spawn(SessionSpec("s", ["/bin/sh", str(script)], str(tmp_path), dict(os.environ),
                               agent="shell"))
        first = queued(queue, "s", 0)
        queue.answer(first, "allow")
        second = queued(queue, "s", first)  # it read the answer and asked again
        queue.answer(second, "deny")
        queued(queue, "s", second)
        assert [r.decision for r in queue.history] == ["allow", "deny"]
    finally:
        queue.close()
        host.close()


# Claude Code's way after an answer: the dialog stays drawn a moment while the dot of the tool
# line above it blinks ("● Bash(…)" / "  Bash(…)") and its "Running…" line is added above the
# dialog, then the tool runs
BLINK = r"""
import os, sys, time, tty
tty.setraw(0)
head = "\x1b[H\x1b[2K{} Bash(npm test)\r\n"
dialog = ("\r\n Bash command\r\n\r\n   npm test\r\n\r\n Do you want to proceed?\r\n"
          " > 1. Yes\r\n   2. No\r\n\r\n Esc to cancel\r\n")
os.write(1, ("\x1b[2J" + head.format("●") + dialog).encode())
os.read(0, 16)
for dot in "\u25cf \u25cf \u25cf ":
    time.sleep(0.05)
    os.write(1, head.format(dot).encode())
# its "Running…" line under the tool's, the dialog one row lower
os.write(1, ("\x1b[2J" + head.format("●") + "  \u23bf  Running\u2026\r\n" + dialog).encode())
time.sleep(0.2)
os.write(1, b"\x1b[2J\x1b[Hran npm test: done\r\n")
time.sleep(60)
"""


def test_a_blink_or_a_line_above_the_answered_dialog_is_not_the_question_asked_again(
        tmp_path: Path) -> None:
    answered_once(tmp_path, BLINK)


# a frame drawn in part after an answer: the screen blank for a moment, then the same dialog
# again (an Ink redraw read midway), then the tool runs
FLICKER = r"""
import os, sys, time, tty
tty.setraw(0)
screen = ("\x1b[2J\x1b[H● Bash(npm test)\r\n\r\n Bash command\r\n\r\n   npm test\r\n\r\n"
          " Do you want to proceed?\r\n > 1. Yes\r\n   2. No\r\n\r\n Esc to cancel\r\n")
os.write(1, screen.encode())
os.read(0, 16)
os.write(1, b"\x1b[2J")
time.sleep(0.3)
os.write(1, screen.encode())
time.sleep(0.3)
os.write(1, b"\x1b[2J\x1b[Hran npm test: done\r\n")
time.sleep(60)
"""


def test_an_answered_dialog_hidden_by_a_half_drawn_frame_is_not_asked_again(
        tmp_path: Path) -> None:
    answered_once(tmp_path, FLICKER)


def answered_once(tmp_path: Path, program: str) -> None:
    """`program` asks once, is allowed, redraws its way to "done": one entry, one answer."""
    script = tmp_path / "agent.py"
    script.write_text(program)
    host, clock = LocalHost(), Clock()
    queue = ApprovalQueue(host, tmp_path / "audit.jsonl", clock=clock)
    try:
        host.spawn(SessionSpec("c", [sys.executable, str(script)], str(tmp_path),
                               dict(os.environ), agent="claude", cols=100, rows=30))
        first = queued(queue, "c", 0)
        queue.answer(first, "allow")
        wait(lambda: "done" in "\n".join(host.snapshot("c"))
             and host.info("c").detection.prompt is None, "the tool ran")
        assert queue.pending() == [], queue.pending()
        assert [r.decision for r in queue.history] == ["allow"]
    finally:
        queue.close()
        host.close()


def test_a_thousand_random_sequences_miss_no_prompt_and_queue_none_twice(
        tmp_path: Path) -> None:
    rng = random.Random(2026)
    host, clock = LocalHost(), Clock()
    queue = ApprovalQueue(host, tmp_path / "audit.jsonl", clock=clock)
    kinds = {"loop": ("loop", 30), "scroll": ("loop", 6), "dialog": ("dialog", 30)}
    try:
        last: dict[str, int] = {}
        for name, (kind, rows) in kinds.items():
            spawn(host, tmp_path, name, kind, rows)
            last[name] = queued(queue, name, 0)
        asked = len(kinds)
        answers = ended = 0
        # a round: each agent's next step, taken at once (the three agents answered, restarted
        # or re-created together, as a user answering down the queue does), then each one's
        # prompt awaited
        for _ in range(SEQUENCES // len(kinds)):
            for name, (kind, rows) in kinds.items():
                op = rng.random()
                if op < 0.9:  # answered: it asks the same again
                    queue.answer(last[name], rng.choice(("allow", "deny")))
                    answers += 1
                elif op < 0.95:  # restarted
                    host.stop(name)
                    spawn(host, tmp_path, name, kind, rows)
                    ended += 1
                else:  # removed and made again under its name
                    host.forget(name)
                    spawn(host, tmp_path, name, kind, rows)
                    ended += 1
            for name in kinds:
                last[name] = queued(queue, name, last[name])
                asked += 1
        records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
        decisions = [r["decision"] for r in records]
        odd = [r for r in records if r["decision"] not in ("allow", "deny")
               and r.get("why") != "the agent exited"]
        assert len(decisions) == answers + ended, ("every prompt answered or ended once", odd)
        assert decisions.count(WITHDRAWN) == ended  # only the ended processes' prompts
        assert "not taken by the agent" not in decisions
        assert len(queue.pending()) == len(kinds)
        print(f"{SEQUENCES} sequences: {asked} prompts asked, {answers} answered, "
              f"{ended} restarts or re-creations")
    finally:
        queue.close()
        host.close()


# Codex CLI's way after an answer (captured: tests/fixtures/real/codex-*-bash-120.txt): it
# acknowledges the answer in its transcript above the approval overlay ("✔ You approved codex
# to run … this time", a line quoting the command) and may draw that a frame before it takes the
# overlay down; the answered dialog then stands below a new line quoting it, for that frame.
# argv[1] "ran": the overlay goes and the command runs; "again": the same command is asked again
# (the overlay stays, waiting for its key)
CODEX = r"""
import os, sys, time, tty
tty.setraw(0)
screen = open(sys.argv[2], encoding="utf-8").read().rstrip("\n").split("\n")
def draw(lines):
    os.write(1, ("\x1b[?2026h\x1b[H\x1b[2J" + "\r\n".join(lines) + "\x1b[?2026l").encode())
draw(screen)
os.read(0, 16)
acked = screen[:10] + ["✔ You approved codex to run echo ran > ran.txt this time"] + screen[11:]
draw(acked)
if sys.argv[1] == "ran":
    time.sleep(0.15)
    draw(acked[:11] + ["", "• Ran echo ran > ran.txt", "  └ (no output)", "", "• All done."]
         + [""] * 20 + ["› Ask Codex to do anything"])
else:
    os.read(0, 16)
    draw(acked[:11] + ["", "• Ran echo ran > ran.txt"])
time.sleep(60)
"""


@pytest.mark.parametrize("then", ["ran", "again"])
def test_codex_acknowledging_an_answer_above_its_dialog_is_not_asked_again(
        tmp_path: Path, then: str) -> None:
    """One frame of the answered dialog under its acknowledgement is not the question asked
    again; the dialog still there after that (Codex waiting for its key) is."""
    script = tmp_path / "codex.py"
    script.write_text(CODEX)
    screen = Path(__file__).parent / "fixtures" / "real" / "codex-0.169.0-bash-120.txt"
    host, clock = LocalHost(), Clock()
    queue = ApprovalQueue(host, tmp_path / "audit.jsonl", clock=clock)
    try:
        host.spawn(SessionSpec("cx", [sys.executable, str(script), then, str(screen)],
                               str(tmp_path), dict(os.environ), agent="codex", cols=120,
                               rows=40))
        first = queued(queue, "cx", 0)
        assert queue.pending()[0].summary == "echo ran > ran.txt"
        queue.answer(first, "allow")
        if then == "ran":
            wait(lambda: "All done" in "\n".join(host.snapshot("cx"))
                 and host.info("cx").detection.prompt is None, "the command to run")
            assert queue.pending() == [], queue.pending()
            assert [r.decision for r in queue.history] == ["allow"]
        else:
            second = queued(queue, "cx", first)
            queue.answer(second, "deny")
            wait(lambda: "Ran" in "\n".join(host.snapshot("cx")), "the second answer taken")
            assert [r.decision for r in queue.history] == ["allow", "deny"]
    finally:
        queue.close()
        host.close()


# reads a key and takes no notice of it: the same question stays drawn, unchanged (raw mode: no
# echo moves it)
DEAF = r"""
import os, sys, time, tty
tty.setraw(0)
os.write(1, b"\x1b[2J\x1b[HRun make? [y/n] ")
os.read(0, 16)
time.sleep(60)
"""


def test_an_answer_the_agent_never_takes_is_queued_again(tmp_path: Path) -> None:
    """The same prompt still drawn, unchanged, TAKEN_WITHIN after its answer: the answer was
    not taken; the prompt goes back in the queue (audited), rather than waiting forever behind
    an answer the agent never read."""
    script = tmp_path / "deaf.py"
    script.write_text(DEAF)
    host, clock = LocalHost(), Clock()
    queue = ApprovalQueue(host, tmp_path / "audit.jsonl", clock=clock)
    try:
        host.spawn(SessionSpec("d", [sys.executable, str(script)], str(tmp_path),
                               dict(os.environ), agent="shell"))
        first = queued(queue, "d", 0)
        queue.answer(first, "allow")
        wait(lambda: bool(queue.pending()) and queue.pending()[0].id > first,
             "the prompt back in the queue", 15)
        assert [r.decision for r in queue.history] == ["allow", "not taken by the agent"]
    finally:
        queue.close()
        host.close()
