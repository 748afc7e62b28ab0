"""The session hosts — in-process (LocalHost) and the daemon (RemoteHost, a real `agentdeck
daemon` process): real PTYs, the agent's environment, resize, exit codes, a missing binary, and
the approvals queue on top (once, stale answers refused, audit log, allow rules). Every test
here runs against both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentdeck.core.agents.sessions import LocalHost, SessionSpec
from agentdeck.core.fleet.spec import ApprovalRule
from agentdeck.core.oversight.approvals import ApprovalQueue, StaleAnswer
from agentdeck.core.screen.terminal.base import plain_text
from tests.conftest import wait

ASKER = """
import sys, time
n = 0
while True:
    n += 1
    sys.stdout.write(f"step {n}\\r\\nRun make test{n}? [y/n] ")
    sys.stdout.flush()
    answer = sys.stdin.readline().strip()
    with open(sys.argv[1], "a") as fh:
        fh.write(answer + "\\n")
    print(f"answer {answer}", flush=True)
    if n == 3:
        break
"""


@pytest.fixture(params=["local", "daemon"])
def host(request, tmp_path: Path):
    if request.param == "local":
        h = LocalHost()
        yield h
        h.close()
        return
    from agentdeck.daemon import lifecycle

    state = tmp_path / "state"
    h = lifecycle.ensure(state, None)
    yield h
    h.close()
    lifecycle.stop(state)


def spec(name: str, argv: list[str], cwd: Path, **env: str) -> SessionSpec:
    return SessionSpec(name, argv, str(cwd), dict(os.environ, **env), cols=60, rows=12)


def test_a_session_runs_in_its_worktree_with_its_env_and_size(host, tmp_path: Path) -> None:
    script = "import os, shutil; print(os.getcwd(), os.environ['PORT'], shutil.get_terminal_size())"
    host.spawn(spec("a", [sys.executable, "-c", script + "; input()"], tmp_path, PORT="4123"))
    # (the whole line: a PTY read may end anywhere in it)
    info = host.wait_for("a", lambda i: "lines=12)" in "".join(host.snapshot("a")))
    text = "".join(host.snapshot("a"))
    assert str(tmp_path) in text and "columns=60, lines=12" in text
    host.resize("a", 70, 14)
    host.write("a", b"\r")
    info = host.wait_for("a", lambda i: i.process == "exited")
    assert info.exit_code == 0 and info.state == "exited"


def test_exit_code_and_missing_binary(host, tmp_path: Path) -> None:
    host.spawn(spec("bad", [sys.executable, "-c", "raise SystemExit(3)"], tmp_path))
    assert host.wait_for("bad", lambda i: i.process == "exited").exit_code == 3
    info = host.spawn(spec("none", ["no-such-agent-binary"], tmp_path))
    assert info.state == "failed" and "not found on PATH" in (info.error or "")
    assert "not found on PATH" in "".join(host.snapshot("none"))


def test_queue_answers_once_refuses_stale_and_logs(host, tmp_path: Path) -> None:
    answers, audit = tmp_path / "answers", tmp_path / "audit.jsonl"
    host.spawn(spec("w", [sys.executable, "-c", ASKER, str(answers)], tmp_path))
    queue = ApprovalQueue(host, audit)
    host.wait_for("w", lambda i: i.state == "waiting")
    # (a daemon's host tells its listeners after its own state: the queue may hear it later)
    wait(queue.pending, "the first prompt queued")
    first = queue.pending()
    assert len(first) == 1 and first[0].summary == "Run make test1?"
    queue.answer(first[0].id, "allow")
    with pytest.raises(StaleAnswer):
        queue.answer(first[0].id, "allow")  # the same entry twice: refused
    host.wait_for("w", lambda i: "step 2" in "".join(host.snapshot("w")))
    second = host.wait_for("w", lambda i: bool(queue.pending()))
    entry = queue.pending()[0]
    assert entry.summary == "Run make test2?" and second.state == "waiting"
    queue.typed("w", b"n\r")  # answered in the pane: the queue's answer is now stale
    host.write("w", b"n\r")
    host.wait_for("w", lambda i: "step 3" in "".join(host.snapshot("w")))
    with pytest.raises(StaleAnswer):
        queue.answer(entry.id, "allow")
    assert answers.read_text().split() == ["y", "n"]
    # (a daemon's host tells its listeners after its own state: the queue may hear it later)
    wait(lambda: len(audit.read_text().splitlines()) == 2, "both audit lines")
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    assert [(x["agent"], x["decision"], x["by"], x["summary"]) for x in lines] == [
        ("w", "allow", "key", "Run make test1?"), ("w", "deny", "user", "Run make test2?")]


def test_allow_rules_answer_matching_prompts_and_say_so(host, tmp_path: Path) -> None:
    answers, audit = tmp_path / "answers", tmp_path / "audit.jsonl"
    rule = ApprovalRule("allow", "bash", r"^Run make test[12]\?", where="fleet.yaml:9:7")
    queue = ApprovalQueue(host, audit, [rule], roles={"w": "worker"})
    host.spawn(spec("w", [sys.executable, "-c", ASKER, str(answers)], tmp_path))
    host.wait_for("w", lambda i: any("test3" in e.summary for e in queue.pending()))
    assert [e.summary for e in queue.pending()] == ["Run make test3?"]  # no rule for it
    assert answers.read_text().split() == ["y", "y"]
    decisions = [json.loads(x) for x in audit.read_text().splitlines()]
    assert [d["by"] for d in decisions] == ["rule fleet.yaml:9:7"] * 2
    assert [r.by for r in queue.history] == ["rule fleet.yaml:9:7"] * 2


@pytest.mark.parametrize("style", ["claude", "codex", "aider"])
def test_prompts_that_wrap_in_a_narrow_pane_are_still_caught(host, tmp_path: Path,
                                                             style: str) -> None:
    """At 49 columns the demo agents' footers, options and aider's question wrap."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    env = dict(os.environ, AGENTDECK_DEMO_SPEED="0", AGENTDECK_DEMO_LOG=str(tmp_path / "log"))
    argv = [sys.executable, "-m", "agentdeck.demo_agents.agent", "--style", style]
    host.spawn(SessionSpec(style, argv, str(tmp_path), env, agent=style, cols=49, rows=30))
    info = host.wait_for(style, lambda i: i.detection.prompt is not None)
    assert (info.detection.prompt.kind, info.detection.prompt.summary) == (
        "bash", "git log --oneline -3")
    assert any(len(row) == 49 for row in host.snapshot(style))  # something did wrap
    if style == "aider":
        return  # aider leaves answered questions on screen, as the real one does
    queue = ApprovalQueue(host, None)
    queue.answer(queue.entry_for(style).id, "deny")
    host.wait_for(style, lambda i: (e := queue.entry_for(style)) is not None and e.kind != "bash")
    rows = [row for row in host.snapshot(style) if row.strip()]
    declined = next(i for i, row in enumerate(rows) if "declined" in row)
    # the answered dialog was erased whole, wrapped rows included
    assert "1 module, 1 test file" in rows[declined - 1]


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_what_is_typed_into_a_shell_shows_as_in_a_terminal(host, tmp_path: Path,
                                                           shell: str) -> None:
    """The PTY echoes as a terminal does: readline (bash) echoes only when the terminal did,
    and a shell without line editing (sh) relies on the terminal's echo."""
    env = {"PS1": "ready$ ", "HOME": str(tmp_path), "ENV": "/dev/null"}
    argv = [shell, "--norc", "--noprofile"] if shell == "bash" else [shell]
    host.spawn(spec(f"sh-{shell}", argv, tmp_path, **env))
    host.wait_for(f"sh-{shell}", lambda i: "ready$" in "".join(host.snapshot(f"sh-{shell}")))
    host.write(f"sh-{shell}", b"echo typed-not-run")
    host.wait_for(f"sh-{shell}", lambda i: "ready$ echo typed-not-run" in "\n".join(
        host.snapshot(f"sh-{shell}")))
    host.write(f"sh-{shell}", b"\r")
    host.wait_for(f"sh-{shell}", lambda i: "\ntyped-not-run" in "\n".join(
        host.snapshot(f"sh-{shell}")))


def test_an_idle_program_redrawing_for_a_new_size_stays_idle(host, tmp_path: Path) -> None:
    """A dashboard resize makes every agent redraw: a shell reprints its prompt. That output is
    not work — the agent stays idle (it showed as working for two seconds)."""
    from agentdeck.core.agents.sessions.activity import QUIET_IDLE

    redraw = ("import signal, sys\n"
              "signal.signal(signal.SIGWINCH, lambda *_: print('\\r$ ', end='', flush=True))\n"
              "print('$ ', end='', flush=True)\n"
              "while True:\n    signal.pause()\n")
    host.spawn(spec("sh", [sys.executable, "-c", redraw], tmp_path))
    host.wait_for("sh", lambda i: i.state == "idle", timeout=20)
    states: list[str] = []
    stop = host.subscribe(lambda e: states.append(e.info.state) if e.kind == "state" else None)
    try:
        before = host.info("sh").last_output
        host.resize("sh", 70, 14)
        wait(lambda: host.info("sh").last_output > before, "the program's redraw")
        # until the quiet rule alone would say idle again: nothing in between said working
        import time

        seen = host.info("sh").last_output
        wait(lambda: time.monotonic() - seen > QUIET_IDLE + 0.2, "the quiet window", timeout=10)
        host.redetect("sh")
    finally:
        stop()
    assert "working" not in states and host.info("sh").state == "idle", states


def test_a_restored_session_holds_its_scrollback_as_a_live_one_does() -> None:
    """A session shown from its transcript (its host died) is fed as a live one is: its old
    scrollback moved out of the terminal's grid as it goes (fed whole, the grid kept every
    line: a restored fleet held three times the live one's memory), none of it lost."""
    from agentdeck.core.screen.terminal.ghostty import ARCHIVE_AT

    transcript = b"".join(b"\x1b[3%dmline %d\x1b[0m\r\n" % (n % 8, n) for n in range(6000))
    host = LocalHost()
    try:
        host.restore(SessionSpec("a", ["true"], "/", {}, cols=80, rows=24, scrollback=10_000),
                     transcript + b"done", "gone")
        with host.terminal("a") as emulator:
            history = emulator.history()
            assert history == [f"line {n}" for n in range(6000 - 23)]
            assert emulator.lines()[-2:] == ["line 5999", "done"]
            if emulator.__class__.__name__ == "GhosttyEmulator":
                grid = emulator._term.get("scrollback_rows", "size_t")  # type: ignore[attr-defined]
                assert grid <= ARCHIVE_AT + (1 << 16) // len(b"line 0\r\n")
    finally:
        host.close()


FLOOD = """
import os, sys
os.write(1, b"".join(b"\\x1b[3%dmline %d\\x1b[0m %s\\r\\n" % (n % 8, n, b"w" * (n % 150))
                    for n in range(int(sys.argv[1]))))
"""


def test_a_flood_reaches_the_screen_whole_in_order_with_its_colours(host, tmp_path: Path) -> None:
    """A program writing a few megabytes at once (read a PTY buffer at a time, gathered into
    batches, its scrollback moved out of the grid in blocks) leaves its last lines in order,
    each in its colour — as its transcript restored into a screen shows them."""
    host.spawn(SessionSpec("f", [sys.executable, "-c", FLOOD, "30000"], str(tmp_path),
                           dict(os.environ), cols=100, rows=30, scrollback=10_000))
    assert host.wait_for("f", lambda i: i.process == "exited", timeout=120)
    # ScrollBack's copy (a grid: 10,000 rows, fewer lines), from the session host's screen
    with host.scrollback("f") as emulator:
        history, styled = emulator.history(), emulator.styled_history()
        screen = "".join(emulator.lines())
    numbers = [int(line.split()[1]) for line in history]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers))) and len(numbers) > 5_000
    assert numbers[-1] > 29_970 and screen.endswith("line 29999 " + "w" * 149)
    if isinstance(host, LocalHost):  # the session's own: exactly its last 10,000 lines
        with host.terminal("f") as emulator:
            numbers = [int(line.split()[1]) for line in emulator.history()]
            if emulator.__class__.__name__ == "GhosttyEmulator":  # most of them archived
                from agentdeck.core.screen.terminal.ghostty import ARCHIVE_AT

                # moved out at the end of a fed slice (~480 rows of this flood) unless a line
                # then goes on at the screen's top; which slice ends do is down to how the
                # PTY reads fell, so the bound allows several refusals in a row
                grid = emulator._term.get("scrollback_rows", "size_t")  # type: ignore[attr-defined]
                assert grid < ARCHIVE_AT + 4_000, grid
        assert numbers == list(range(numbers[-1] - 9_999, numbers[-1] + 1))
    restored = LocalHost()
    try:
        transcript = b"".join(b"\x1b[3%dmline %d\x1b[0m %s\r\n" % (n % 8, n, b"w" * (n % 150))
                              for n in range(30_000))
        restored.restore(SessionSpec("f", ["true"], "/", {}, cols=100, rows=30,
                                     scrollback=10_000), transcript, "gone")
        with restored.scrollback("f") as emulator:
            assert emulator.history() == history
            restyled = emulator.styled_history()
    finally:
        restored.close()
    if emulator.__class__.__name__ == "GhosttyEmulator":  # (pyte's scrollback is text only)
        # each line in its colour (but the beginning of one the screen goes on with: text)
        for line in styled[:-1] + restyled[:-1]:
            n = int(plain_text(line).split()[1])
            assert line.startswith(f"\x1b[0m\x1b[38;5;{n % 8}mline {n}\x1b[0m "), line


def test_two_starts_of_one_agent_that_cross_run_one_process(host, tmp_path: Path) -> None:
    """A dashboard's start and the CLI's can cross: the check for a running session and taking
    its name are one step, so exactly one of them starts a process — two would both print into
    every mirror of that name (seen as a mirror showing its agent's screen twice)."""
    import threading

    for round_no in range(5):
        name = f"twice{round_no}"
        barrier, outcomes = threading.Barrier(2), []

        def start(name: str = name, barrier: threading.Barrier = barrier,
                  outcomes: list = outcomes) -> None:
            barrier.wait()
            try:
                sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
                outcomes.append(host.spawn(spec(name, sleeper, tmp_path)))
            except ValueError as exc:
                outcomes.append(exc)

        threads = [threading.Thread(target=start) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        started = [o for o in outcomes if not isinstance(o, ValueError)]
        refused = [o for o in outcomes if isinstance(o, ValueError)]
        assert len(started) == 1 and len(refused) == 1, outcomes
        assert "already running" in str(refused[0])
        host.stop(name)
