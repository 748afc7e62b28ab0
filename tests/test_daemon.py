"""The session host daemon: agents outlive dashboards, a reattached pane is exactly what it would
have been, prompts are queued and notified with nobody attached, two clients never both answer,
the daemon's own death ends its agents and is reconciled on restart, and the CLI around it."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdeck.core.agents.sessions import SessionSpec
from agentdeck.core.hostlock import daemon_socket
from agentdeck.core.oversight.approvals import ALLOW, StaleAnswer
from agentdeck.daemon import lifecycle
from agentdeck.daemon.client import MIRROR_HISTORY, RemoteHost, RemoteQueue
from tests.conftest import alive, make_repo, run_agentdeck, until, wait, write_fleet

CHATTY = """
import sys, time
for i in range(int(sys.argv[1])):
    print(f"\\x1b[3{i % 8}mline {i} \\x1b[1m" + "x" * (i % 97) + "\\x1b[0m 中文 ✓")
sys.stdout.flush()
time.sleep(float(sys.argv[2]))
n = 0
while True:
    n += 1
    sys.stdout.write(f"Run make test{n}? [y/n] ")
    sys.stdout.flush()
    answer = sys.stdin.readline().strip()
    with open(sys.argv[3], "a") as fh:
        fh.write(answer + "\\n")
    print(f"answer {answer}", flush=True)
"""


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "state"
    yield state
    lifecycle.stop(state)


def chatty(tmp_path: Path, name: str = "a", lines: int = 3000, pause: float = 0.0,
           cols: int = 80, rows: int = 24) -> SessionSpec:
    script = tmp_path / "chatty.py"
    script.write_text(CHATTY)
    log = tmp_path / f"{name}.answers"
    return SessionSpec(name, [sys.executable, str(script), str(lines), str(pause), str(log)],
                       str(tmp_path), dict(os.environ), agent="generic", cols=cols, rows=rows)


def mirror_text(host: RemoteHost, name: str) -> tuple[list[str], list[str]]:
    with host.attach(name) as emulator:
        return emulator.lines(), emulator.history()


def whole_text(host: RemoteHost, name: str) -> tuple[list[str], list[str]]:
    """The screen and the whole scrollback, fetched as a user scrolling back gets them."""
    with host.scrollback(name) as emulator:
        return emulator.lines(), emulator.history()


def test_a_reattached_pane_is_exactly_what_an_open_one_shows(state: Path, tmp_path: Path) -> None:
    stayed = lifecycle.ensure(state, None)
    stayed.spawn(chatty(tmp_path, lines=4000))
    queue = RemoteQueue(stayed)
    wait(lambda: queue.pending(), "the prompt")
    left = lifecycle.ensure(state, None)
    left.attach("a")
    left.resize("a", 100, 30)  # a resize while both watch: it reflows the same way for both
    wait(lambda: stayed.attach("a").emulator.cols == 100, "the resize to reach every mirror")
    left.close()  # quit: the agent goes on
    assert stayed.info("a").process == "running"
    again = lifecycle.ensure(state, None)
    assert whole_text(again, "a") == whole_text(stayed, "a")
    lines, history = whole_text(again, "a")
    # (the prompt is on the screen; at its bottom unless the taller screen had no scrollback
    # rows to pull down: just moved to the archive, as a terminal with none would show it)
    assert len(history) > 3000 and any(line.startswith("Run make test1?") for line in lines)
    # a mirror keeps the screen and the last lines of the scrollback; the rest stays in the
    # daemon until the user scrolls back
    mirror_lines, mirror_history = mirror_text(again, "a")
    assert mirror_lines == lines and len(mirror_history) <= MIRROR_HISTORY
    assert history[len(history) - len(mirror_history):] == mirror_history
    assert mirror_text(stayed, "a")[0] == lines
    # the prompt is still queued, for the new client too
    assert [e.summary for e in RemoteQueue(again).pending()] == ["Run make test1?"]
    again.close()
    stayed.close()


ECHO = """
import sys
print("ready", flush=True)
while line := sys.stdin.readline():
    print("said", line.strip(), flush=True)
"""


def test_a_mirror_made_again_on_an_attached_connection_shows_each_line_once(
        state: Path, tmp_path: Path) -> None:
    """A client that mirrors an agent is sent its output until it attaches again (a restart: a
    new process, a new screen; or a pane that asked for its agent's screen while the agent
    was being started, then the start's own replay): what the agent printed before the new
    replay's screen was taken is in that screen, and is not fed on top of it again."""
    script = tmp_path / "echo.py"
    script.write_text(ECHO)
    spec = SessionSpec("a", [sys.executable, str(script)], str(tmp_path), dict(os.environ),
                       agent="generic", cols=80, rows=24)
    host = lifecycle.ensure(state, None)
    try:
        host.spawn(spec)
        wait(lambda: "ready" in host.snapshot("a"), "the agent to start")
        host.stop("a")
        wait(lambda: host.info("a").process == "exited", "the agent to stop")
        request = host._conn.request

        def attach_after_output(op: str, payload: bytes = b"",
                                **fields: object) -> tuple[object, bytes]:
            if op == "attach":  # (the restart's replay, asked for after its output went out)
                host.write("a", b"one\n")
                wait(lambda: "said one" in host.snapshot("a"), "the agent's reply")
            return request(op, payload, **fields)

        host._conn.request = attach_after_output  # type: ignore[method-assign]
        host.spawn(spec)  # (returns with the new mirror made: the agent waits for input)
        with host.terminal("a") as emulator:
            mirrored = emulator.lines()
        assert mirrored == host.snapshot("a")
        assert mirrored.count("said one") == 1
    finally:
        host.close()


def test_prompts_are_queued_and_notified_with_no_dashboard(state: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    marker = tmp_path / "notified"
    fleet = write_fleet(repo, f"version: 1\ndashboard: {{notify: 'echo \"$AGENTDECK_AGENT:"
                              f"$AGENTDECK_SUMMARY\" >> {marker}'}}\n")
    host = lifecycle.ensure(state, fleet)
    host.spawn(chatty(tmp_path, lines=10, pause=1.5))
    host.close()  # nobody attached when the prompt comes
    # (the shell makes the file before it writes the line: wait for the whole line)
    wait(lambda: marker.exists() and marker.read_text().endswith("\n"),
         "the notify command, run by the daemon")
    assert marker.read_text().strip() == "a:Run make test1?"
    host = lifecycle.ensure(state, None)
    assert [e.agent for e in RemoteQueue(host).pending()] == ["a"]
    host.close()


def test_two_clients_answering_one_prompt_send_exactly_one_answer(state: Path,
                                                                  tmp_path: Path) -> None:
    one, two = lifecycle.ensure(state, None), lifecycle.ensure(state, None)
    spec = chatty(tmp_path, lines=0)
    one.spawn(spec)
    queues = [RemoteQueue(one), RemoteQueue(two)]
    rounds = 25
    for n in range(1, rounds + 1):
        wait(lambda n=n: all(q.pending() and q.pending()[0].summary == f"Run make test{n}?"
                             for q in queues), f"prompt {n} in both clients")
        entry_id = queues[0].pending()[0].id
        outcomes: list[str] = []
        barrier = threading.Barrier(2)

        def answer(queue: RemoteQueue, outcomes: list[str] = outcomes,
                   barrier: threading.Barrier = barrier, entry_id: int = entry_id) -> None:
            barrier.wait()
            try:
                queue.answer(entry_id, ALLOW)
                outcomes.append("sent")
            except StaleAnswer:
                outcomes.append("refused")

        threads = [threading.Thread(target=answer, args=(q,)) for q in queues]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["refused", "sent"], (n, outcomes)
        # gone from both clients
        wait(lambda e=entry_id: all(not q.pending() or q.pending()[0].id != e for q in queues),
             "the answered entry to leave both clients")
    wait(lambda: len(Path(spec.argv[-1]).read_text().splitlines()) == rounds, "the answers")
    assert Path(spec.argv[-1]).read_text().splitlines() == ["y"] * rounds
    one.close()
    two.close()


def test_a_killed_dashboard_leaves_its_agents_running(state: Path, tmp_path: Path) -> None:
    spec = chatty(tmp_path, lines=50)
    code = (f"import sys, time, json\nsys.path.insert(0, {str(Path.cwd())!r})\n"
            "from agentdeck.daemon import lifecycle\nfrom agentdeck.daemon.protocol import "
            "spec_from_wire\nfrom pathlib import Path\n"
            f"h = lifecycle.ensure(Path({str(state)!r}), None)\n"
            f"h.spawn(spec_from_wire(json.loads({json.dumps(json.dumps(_wire(spec)))})))\n"
            "print('spawned', flush=True)\ntime.sleep(60)\n")
    dashboard = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert dashboard.stdout is not None and dashboard.stdout.readline().strip() == "spawned"
    dashboard.send_signal(signal.SIGKILL)
    dashboard.wait()
    host = lifecycle.ensure(state, None)
    wait(lambda: RemoteQueue(host).pending(), "the agent, still running, to ask")
    assert host.info("a").process == "running"
    host.close()


def _wire(spec: SessionSpec) -> dict[str, object]:
    from agentdeck.daemon.protocol import spec_to_wire

    return spec_to_wire(spec)


def test_when_the_daemon_dies_its_agents_end_and_come_back_as_they_ended(
        state: Path, tmp_path: Path) -> None:
    host = lifecycle.ensure(state, None)
    host.spawn(chatty(tmp_path, lines=200))
    wait(lambda: RemoteQueue(host).pending(), "the prompt")
    pid = host.info("a").pid
    daemon_pid = host.daemon_pid
    before = mirror_text(host, "a")[0]
    host.close()
    os.kill(daemon_pid, signal.SIGKILL)
    assert pid is not None
    wait(lambda: not alive(pid), "the agent to end with its daemon", 10)
    host = lifecycle.ensure(state, None)  # a new daemon reconciles from the transcripts
    info = host.info("a")
    assert (info.process, info.state) == ("exited", "exited")
    assert "agentdeck start a" in (info.error or "")
    assert mirror_text(host, "a")[0] == before  # the last screen, from the transcript
    host.close()


def test_the_daemon_socket_is_private(state: Path) -> None:
    host = lifecycle.ensure(state, None)
    path = daemon_socket(state)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    host.close()


def test_cli_daemon_start_status_logs_and_stop(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    script = tmp_path / "hello.py"
    script.write_text("import sys, time\nprint('hello from the agent', *sys.argv[1:], flush=True)"
                      "\ntime.sleep(60)\n")
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands: {{hello: "{sys.executable} {script}"}}
resume: {{hello: "{sys.executable} {script} --resumed"}}
agents: [{{name: h, agent: hello, branch: feat/h}}]
""")
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    try:
        started = run_agentdeck("start", "h", cwd=repo)
        assert started.code == 0 and "h: started" in started.out, started.err
        status = run_agentdeck("daemon", "status", cwd=repo)
        assert status.code == 0 and "h " in status.out and (
            "working" in status.out or "idle" in status.out), status.out
        wait(lambda: "hello from the agent" in run_agentdeck("logs", "h", cwd=repo).out,
             "the agent's line in its log", poll=0.1)
        assert "already running" in run_agentdeck("start", "h", cwd=repo).out
        assert "--resumed" not in run_agentdeck("logs", "h", cwd=repo).out
        # the daemon goes, and the agent with it; `start` brings it back with its resume command
        assert run_agentdeck("daemon", "stop", cwd=repo).code == 0
        assert run_agentdeck("daemon", "status", cwd=repo).code == 1
        assert "h: started" in run_agentdeck("start", "h", cwd=repo).out
        wait(lambda: "hello from the agent --resumed" in run_agentdeck("logs", "h",
                                                                       cwd=repo).out,
             "the resumed agent's line in its log", poll=0.1)
    finally:
        stopped = run_agentdeck("daemon", "stop", cwd=repo)
    assert stopped.code == 0 and "stopped" in stopped.out
    missing = run_agentdeck("logs", "nobody", cwd=repo)
    assert missing.code == 1 and "no transcript for 'nobody'" in missing.err


async def test_the_dashboard_on_a_daemon_quits_and_comes_back_to_the_same_screens(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agentdeck.core.deck import Deck
    from agentdeck.core.engine.engine import Engine
    from agentdeck.core.fleet.schema import load_fleet
    from agentdeck.core.git.repo import open_repo
    from agentdeck.demo import make_demo_repo
    from agentdeck.ui.app import AgentdeckApp
    from agentdeck.ui.widgets.terminal_pane import TerminalPane

    monkeypatch.setenv("AGENTDECK_DEMO_SPEED", "0.02")
    clone = make_demo_repo(tmp_path)
    ctx, fleet = open_repo(clone), load_fleet(clone / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0

    def open_deck() -> Deck:
        host = lifecycle.ensure(ctx.state_dir, fleet.path)
        return Deck.attach(ctx, fleet, host, RemoteQueue(host))

    def pane_text(app: AgentdeckApp, name: str) -> list[str]:
        pane = app.query_one(f"#pane-{name}", TerminalPane)
        with pane.host.terminal(name) as emulator:
            return emulator.lines()

    try:
        deck = open_deck()
        app = AgentdeckApp(deck)
        async with app.run_test(size=(180, 50)) as pilot:
            await until(pilot, lambda: len(deck.queue.pending()) == 3)
            names = ("auth", "payments", "search")
            await until(pilot, lambda: all(_has_mirror(deck, n) for n in names))
            # each mirror caught up with its screen in the daemon (the replay and the bytes
            # after it arrive in pieces: a screen read too soon is a screen half drawn)
            try:
                await until(pilot, lambda: all(pane_text(app, n) == deck.host.snapshot(n)
                                               for n in names))
            except AssertionError:  # (say which rows differ: a mirror out of step is a bug)
                differ = {n: [(y, a, b) for y, (a, b) in enumerate(zip(
                    pane_text(app, n), deck.host.snapshot(n), strict=False)) if a != b]
                    for n in names}
                whole = {n: (pane_text(app, n), deck.host.snapshot(n)) for n in names
                         if differ[n]}
                raise AssertionError(f"mirror rows unlike the daemon's: {differ}; whole "
                                     f"screens (mirror, daemon): {whole}") from None
            first = {n: pane_text(app, n) for n in names}
            await pilot.press("q")
        deck.close()  # the dashboard is gone; the agents are not
        deck = open_deck()
        assert {i.name: i.process for i in deck.host.sessions()}["auth"] == "running"
        app = AgentdeckApp(deck)
        async with app.run_test(size=(180, 50)) as pilot:
            await until(pilot, lambda: all(_has_mirror(deck, n) for n in first))
            # the mirrors replay to the same screens (condition: the replay arrives in pieces)
            await until(pilot, lambda: {n: pane_text(app, n) for n in first} == first)
            assert len(deck.queue.pending()) == 3  # still waiting, still queued
            assert "3 waiting" in app.title
        deck.close()
    finally:
        lifecycle.stop(ctx.state_dir)


def _has_mirror(deck, name: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        deck.host.terminal(name)
    except KeyError:
        return False
    return True


def test_rm_stops_a_running_agent_and_forgets_its_session_and_transcript(
        tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    script = tmp_path / "idle.py"
    script.write_text("import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands: {{idle: "{sys.executable} {script}"}}
agents: [{{name: w, agent: idle, branch: feat/w}}]
""")
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    try:
        assert run_agentdeck("start", cwd=repo).code == 0
        removed = run_agentdeck("rm", "w", cwd=repo)  # no work to lose: no --force needed
        assert removed.code == 0, removed.err
        assert "stopped it" in removed.out
        assert not (tmp_path / "wt-w").exists()
        status = run_agentdeck("daemon", "status", cwd=repo)
        assert " w " not in status.out
        assert run_agentdeck("logs", "w", cwd=repo).code == 1
    finally:
        run_agentdeck("daemon", "stop", cwd=repo)


def test_agents_take_the_size_of_the_largest_attached_dashboard(state: Path,
                                                                 tmp_path: Path) -> None:
    small, large = lifecycle.ensure(state, None), lifecycle.ensure(state, None)
    small.spawn(chatty(tmp_path, lines=0))

    def size() -> tuple[int, int]:
        with small.attach("a") as emulator:
            return emulator.cols, emulator.rows

    small.set_home_size(110, 32)
    wait(lambda: size() == (110, 32), "the only dashboard's size")
    large.set_home_size(150, 45)
    wait(lambda: size() == (150, 45), "the larger dashboard's size")
    small.set_home_size(120, 35)  # the smaller one resized: the agents stay at the largest
    small.spawn(chatty(tmp_path, name="b", lines=0, cols=80, rows=24))
    with small.attach("b") as emulator:
        assert (emulator.cols, emulator.rows) == (150, 45)  # a new agent starts at that size
    assert size() == (150, 45)
    large.close()  # the largest left: the next largest one's size
    wait(lambda: size() == (120, 35), "the remaining dashboard's size")
    small.close()


def test_a_listener_that_waits_never_holds_up_the_replies(state: Path, tmp_path: Path) -> None:
    # an approvals queue over a daemon's host holds its lock while it writes an answer: the
    # events that arrive meanwhile wait for that lock, and the write's reply must still be read
    host = lifecycle.ensure(state, None)
    host.timeout = 5.0
    busy = threading.Lock()
    seen: list[str] = []

    def listener(event) -> None:
        with busy:
            seen.append(event.kind)

    host.subscribe(listener)
    with busy:  # every event now waits until the calls below are done
        host.spawn(chatty(tmp_path, lines=50))
        wait(lambda: "Run make test1?" in "\n".join(host.snapshot("a")), "the prompt")
        host.write("a", b"y\n")
    wait(lambda: "output" in seen and "state" in seen, "the events, delivered in the end")
    host.close()


def test_session_hosts_started_at_once_are_always_one(tmp_path: Path) -> None:
    # `agentdeck` and `agentdeck start` run at the same moment, each starting a session host
    # when it finds none: one serves both, the other leaves (never taking the socket away)
    import psutil

    state = tmp_path / "state"

    def daemons() -> list[int]:
        return [p.pid for p in psutil.process_iter(["cmdline"])
                if "run" in (p.info["cmdline"] or []) and str(state) in (p.info["cmdline"] or [])]

    for round_no in range(20):
        barrier, pids = threading.Barrier(2), []

        def attach(barrier: threading.Barrier = barrier, pids: list[int] = pids) -> None:
            barrier.wait()
            host = lifecycle.ensure(state, None)
            pids.append(host.daemon_pid)
            host.close()

        threads = [threading.Thread(target=attach) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(pids) == 2 and pids[0] == pids[1], (round_no, pids)
        wait(lambda pids=pids: daemons() == pids[:1], f"one session host in round {round_no}")
        assert lifecycle.connect(state) is not None  # its socket is still there
        lifecycle.stop(state)
        wait(lambda: not daemons(), "the session host gone")


def test_a_daemon_of_another_version_is_refused_in_one_line_and_can_be_restarted(
        state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agentdeck.daemon import frames
    from agentdeck.daemon.connection import DaemonMismatch

    lifecycle.ensure(state, None).close()  # a session host of this version runs
    monkeypatch.setattr(frames, "PROTOCOL", frames.PROTOCOL + 1)  # we are a newer agentdeck
    with pytest.raises(DaemonMismatch) as refused:
        lifecycle.connect(state)
    message = str(refused.value)
    assert "\n" not in message and "agentdeck daemon restart" in message
    assert lifecycle.stop(state)  # ended by its pid, as `daemon restart` does
    assert lifecycle.pid_of(state) is None or not lifecycle._alive(lifecycle.pid_of(state))
    monkeypatch.undo()
    host = lifecycle.ensure(state, None)  # a session host of the client's version starts
    host.close()


def test_unknown_fields_from_a_newer_peer_are_ignored() -> None:
    from agentdeck.core.agents.sessions import SessionInfo
    from agentdeck.daemon import protocol

    info = protocol.info_to_wire(SessionInfo("a", "claude"))
    info["colour_of_the_day"] = "teal"
    info["detection"] = {"state": "waiting", "later": 1,
                         "prompt": {"kind": "bash", "summary": "ls", "allow": "y", "deny": "n",
                                    "options": [["Yes", "1"]], "glow": True}}
    back = protocol.info_from_wire(info)
    assert back.name == "a" and back.detection.prompt.summary == "ls"
    assert back.detection.prompt.options == (("Yes", "1"),)


async def test_a_pane_on_the_daemon_scrolls_back_through_the_daemons_scrollback(
        tmp_path: Path) -> None:
    """A mirror keeps the screen and a few lines; scrolling back fetches the rest from the
    daemon (one copy of each scrollback), and the pane follows the live screen again at the
    bottom."""
    from agentdeck.core.deck import Deck
    from agentdeck.core.engine.engine import Engine
    from agentdeck.core.fleet.schema import load_fleet
    from agentdeck.core.git.repo import open_repo
    from agentdeck.ui.app import AgentdeckApp
    from agentdeck.ui.widgets.terminal_pane import TerminalPane
    from tests.conftest import scripted_fleet

    lines = MIRROR_HISTORY * 4
    printer = (f"import sys, time\nfor n in range({lines}):\n    print(f'line {{n}} of output')\n"
               "print('done', flush=True)\nsys.stdin.readline()\n"
               "for n in range(200):\n    print(f'more {n} lines')\n"
               "print('after', flush=True)\ntime.sleep(60)\n")
    repo = scripted_fleet(tmp_path, "printer", printer, "agents: [{name: p, agent: printer}]\n")
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    host = lifecycle.ensure(ctx.state_dir, fleet.path)
    deck = Deck.attach(ctx, fleet, host, RemoteQueue(host))
    try:
        app = AgentdeckApp(deck)
        async with app.run_test(size=(160, 45)) as pilot:
            pane = app.query_one("#pane-p", TerminalPane)

            def shown() -> str:
                return "\n".join(pane.render_line(y).text
                                 for y in range(pane.content_size.height))

            await until(pilot, lambda: _has_mirror(deck, "p") and "done" in shown())
            with deck.host.terminal("p") as mirror:
                assert len(mirror.history()) <= MIRROR_HISTORY
            pane.back.scroll_lines(-(lines - 20))  # back past what the mirror keeps
            await until(pilot, lambda: "line 10 of output" in shown())
            assert "scrollback −" in str(pane.border_subtitle)
            pane.back.scroll_lines(lines)  # down to the bottom: live again
            await until(pilot, lambda: pane.back.history is None and "done" in shown())
            # steps taken while the scrollback is fetched add up (a held key, a flicked wheel)
            for step in (-100, -5, -5):
                pane.back.scroll_lines(step)
            await until(pilot, lambda: pane.back.history is not None)
            assert pane.back.scrolled == 110 and "scrollback −110" in str(pane.border_subtitle)
            # the still copy does not move while scrolled back; the agent goes on meanwhile,
            # and the border says so
            deck.host.write("p", b"\r")
            await until(pilot, lambda: "after" in "\n".join(deck.host.snapshot("p")))
            await until(pilot, lambda: "more output below" in str(pane.border_subtitle))
            assert "more 1" not in shown()
            # down past the copy's bottom goes on into what came since, not over it
            pane.back.scroll_lines(100)
            pane.back.scroll_lines(30)
            await until(pilot, lambda: "more 1" in shown())
            assert pane.back.history is not None and "after" not in shown()
            pane.back.scroll_lines(lines)  # down to the bottom: live again
            await until(pilot, lambda: "after" in shown())
            assert pane.back.history is None and "scrollback" not in str(pane.border_subtitle)
    finally:
        deck.close()
        lifecycle.stop(ctx.state_dir)



def test_an_unknown_request_is_refused_in_one_line_and_the_connection_serves_on(
        state: Path) -> None:
    from agentdeck.daemon.client import records_of

    host = lifecycle.ensure(state, None)
    try:
        with pytest.raises(ValueError, match=r"^unknown request 'frobnicate'$"):
            host._call("frobnicate")
        assert records_of(host) == []  # the same connection answers the next request
    finally:
        host.close()


def test_a_failing_listener_is_logged_and_the_others_still_hear(
        state: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    host = lifecycle.ensure(state, None)
    try:
        heard = threading.Event()

        def broken(event: object) -> None:
            raise RuntimeError("the listener of a closed dashboard")

        host.subscribe(broken)  # first: it fails before the other is called
        host.subscribe(lambda event: heard.set())
        host.spawn(chatty(tmp_path, lines=3))
        assert heard.wait(20), "the second listener heard nothing"
        wait(lambda: "the listener of a closed dashboard" in caplog.text, "the failure logged")
    finally:
        host.close()
