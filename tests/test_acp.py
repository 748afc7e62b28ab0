"""The ACP channel through the real session host: a scripted ACP agent (tests/acp_agent.py, the
SDK's agent side, a real process on real stdio) run by LocalHost, its permission requests in
the real approvals queue, answered with y / a / n / 1-9, audited `via: acp`; its files
confined to its worktree; its terminal commands in agentdeck's PTYs; its usage counted; a
cancelled turn withdrawing its entry; a restart resuming its session (session/load)."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentdeck.core.agents.acp import sdk_missing
from agentdeck.core.agents.sessions import LocalHost, SessionSpec, poll_until
from agentdeck.core.oversight.approvals import ApprovalQueue, Entry
from tests.conftest import requires

AGENT = Path(__file__).resolve().parent / "acp_agent.py"
WAIT = 30.0


@pytest.fixture
def deck(tmp_path: Path) -> Iterator[tuple[LocalHost, ApprovalQueue]]:
    requires("agent-client-protocol", sdk_missing())
    host = LocalHost()
    queue = ApprovalQueue(host, tmp_path / "audit.jsonl")
    yield host, queue
    queue.close()
    host.close()


def spec(tmp_path: Path, prompt: str | None, name: str = "a1", resume: bool = False,
         ) -> SessionSpec:
    worktree = tmp_path / "wt"
    worktree.mkdir(exist_ok=True)
    env = {**os.environ, "ACP_LOG": str(tmp_path / "agent.log"),
           "ACP_OUTSIDE": str(tmp_path / "outside.txt")}
    return SessionSpec(name=name, argv=(sys.executable, str(AGENT)), cwd=str(worktree),
                       env=env, agent="scripted", channel="acp", prompt=prompt, resume=resume,
                       state_file=str(tmp_path / "state" / f"{name}.json"))


def entry_of(queue: ApprovalQueue, agent: str = "a1", not_id: int = 0) -> Entry:
    found: list[Entry] = []

    def queued() -> bool:
        entry = queue.entry_for(agent)
        if entry is not None and entry.id != not_id:
            found.append(entry)
            return True
        return False

    assert poll_until(queued, WAIT), f"no request of {agent} queued"
    return found[-1]


def agent_log(tmp_path: Path) -> list[dict[str, object]]:
    path = tmp_path / "agent.log"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def audit(tmp_path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


def test_requests_are_queued_answered_and_audited_via_acp(
        tmp_path: Path, deck: tuple[LocalHost, ApprovalQueue]) -> None:
    host, queue = deck
    host.spawn(spec(tmp_path, "work"))
    bash = entry_of(queue)
    assert (bash.kind, bash.summary) == ("bash", "echo ran > ran.txt")
    assert host.info("a1").state == "waiting"
    assert [label for label, _ in bash.prompt.options] == ["Allow once", "Allow always",
                                                           "Reject"]
    queue.answer(bash.id, "allow")
    edit = entry_of(queue, not_id=bash.id)
    assert edit.kind == "write"
    assert edit.summary == f"{tmp_path / 'wt' / 'notes.txt'} (new, +2)"
    queue.answer(edit.id, "deny")
    host.wait_for("a1", lambda i: i.state == "idle", WAIT)

    worktree = tmp_path / "wt"
    assert (worktree / "ran.txt").read_text() == "ran\n"  # run in agentdeck's terminal
    assert not (worktree / "notes.txt").exists()  # denied: not written
    assert not (tmp_path / "outside.txt").exists()
    outside = [e for e in agent_log(tmp_path) if e["event"] == "outside"]
    assert outside and outside[0]["written"] is False
    lines = audit(tmp_path)
    answered = [(a["kind"], a["decision"], a["via"], a["tool_call_id"], a.get("option"))
                for a in lines if a["decision"] in ("allow", "deny")]
    assert answered == [("bash", "allow", "acp", "call-1", "yes"),
                        ("write", "deny", "acp", "call-2", "no")]
    refused = [a for a in lines if a["decision"] == "refused"]
    assert len(refused) == 1 and refused[0]["via"] == "acp"
    assert "outside the agent's worktree" in refused[0]["why"]
    # the permission requests each came once, answered as chosen
    asked = [(e["tool_call_id"], e["option"]) for e in agent_log(tmp_path)
             if e["event"] == "permission"]
    assert asked == [("call-1", "yes"), ("call-2", "no")]
    info = host.info("a1")
    assert (info.tokens_in, info.tokens_out, info.cost) == (1200, 300, 0.25)
    assert info.usage == "1.5k tok $0.25"
    conversation = host.conversation("a1")
    assert conversation is not None
    cards = {i["tool"]["id"]: i["tool"] for i in conversation["items"] if i["tool"]}
    assert cards["call-1"]["status"] == "completed"
    assert cards["call-2"]["status"] == "failed"
    assert conversation["terminal_output"]  # the command's terminal, kept for its card
    assert [s["content"] for s in conversation["plan"]] == ["run a command", "write notes"]
    assert any("Done." in line for line in host.snapshot("a1"))  # its log on its screen


def test_always_and_a_numbered_option_pick_the_offered_options(
        tmp_path: Path, deck: tuple[LocalHost, ApprovalQueue]) -> None:
    host, queue = deck
    host.spawn(spec(tmp_path, "work"))
    bash = entry_of(queue)
    queue.answer(bash.id, "always")
    edit = entry_of(queue, not_id=bash.id)
    record = queue.answer(edit.id, "option 1")
    assert record.decision == "option 1: Allow once"
    host.wait_for("a1", lambda i: i.state == "idle", WAIT)
    assert (tmp_path / "wt" / "notes.txt").read_text() == "hello\nworld\n"
    asked = [(e["tool_call_id"], e["option"]) for e in agent_log(tmp_path)
             if e["event"] == "permission"]
    assert asked == [("call-1", "always"), ("call-2", "yes")]


def test_a_cancelled_turn_withdraws_its_entry(
        tmp_path: Path, deck: tuple[LocalHost, ApprovalQueue]) -> None:
    host, queue = deck
    host.spawn(spec(tmp_path, "wait"))
    waiting = entry_of(queue)
    assert waiting.summary == "sleep 1000"
    host.write("a1", b"\x1b")  # Esc in its pane: session/cancel
    assert poll_until(lambda: queue.entry_for("a1") is None, WAIT)
    host.wait_for("a1", lambda i: i.state == "idle", WAIT)
    withdrawn = [a for a in audit(tmp_path) if a["decision"] == "withdrawn by the agent"]
    assert len(withdrawn) == 1
    assert (withdrawn[0]["via"], withdrawn[0]["tool_call_id"]) == ("acp", "wait-1")
    assert withdrawn[0]["why"] == "its turn was cancelled"
    assert any(e["event"] == "cancel" for e in agent_log(tmp_path))


def test_typed_lines_are_prompts_and_an_error_429_is_rate_limited(
        tmp_path: Path, deck: tuple[LocalHost, ApprovalQueue]) -> None:
    host, _ = deck
    host.spawn(spec(tmp_path, None))
    host.wait_for("a1", lambda i: i.state == "idle", WAIT)
    host.write("a1", b"hello there\r")
    assert poll_until(lambda: any("echo: hello there" in line
                                  for line in host.snapshot("a1")), WAIT)
    host.write("a1", b"fail\r")
    info = host.wait_for("a1", lambda i: i.state == "rate-limited", WAIT)
    assert info.detection.detail == "gave up: 429"


def test_restart_resumes_the_session_and_stop_ends_it(
        tmp_path: Path, deck: tuple[LocalHost, ApprovalQueue],
        caplog: pytest.LogCaptureFixture) -> None:
    host, _ = deck
    host.spawn(spec(tmp_path, "hi"))
    host.wait_for("a1", lambda i: i.state == "idle", WAIT)
    saved = json.loads((tmp_path / "state" / "a1.json").read_text())["session_id"]
    pid = host.info("a1").pid
    host.stop("a1")
    info = host.wait_for("a1", lambda i: i.process != "running", WAIT)
    assert info.state == "stopped"
    assert pid is not None and not Path(f"/proc/{pid}").exists()
    # ended by the hangup it was sent (as a PTY agent's code says: minus the signal), its
    # status collected by its own loop's watcher — not reaped under it (then "Unknown child
    # process pid", and 255)
    assert info.exit_code == -signal.SIGHUP
    assert not [r for r in caplog.records if "Unknown child process" in r.getMessage()]
    host.spawn(spec(tmp_path, None, resume=True))
    host.wait_for("a1", lambda i: i.state == "idle", WAIT)
    assert {"event": "load", "session_id": saved} in agent_log(tmp_path)
    conversation = host.conversation("a1")
    assert conversation is not None
    assert any(f"loaded {saved}" in i["text"] for i in conversation["items"])


def test_a_missing_program_fails_in_one_line(tmp_path: Path,
                                             deck: tuple[LocalHost, ApprovalQueue]) -> None:
    host, _ = deck
    bad = spec(tmp_path, "work")
    host.spawn(SessionSpec(**{**bad.__dict__, "argv": ("no-such-acp-agent",)}))
    info = host.wait_for("a1", lambda i: i.process == "failed", WAIT)
    assert "no-such-acp-agent" in (info.error or "")


def test_an_agent_that_fails_to_start_says_why_in_its_last_words(
        tmp_path: Path, deck: tuple[LocalHost, ApprovalQueue]) -> None:
    """An error printed as an object over several lines (claude-agent-acp's, when its Claude
    Code would not start) is shown by its last line that says something, not by its "}"."""
    host, _ = deck
    dies = ("import sys; sys.stderr.write(\"Error handling request {\\n  code: -32603,\\n"
            "  data: { details: 'Query closed before response received' }\\n}\\n\"); "
            "sys.exit(1)")
    plain = spec(tmp_path, "work")
    host.spawn(SessionSpec(**{**plain.__dict__, "argv": (sys.executable, "-c", dies)}))
    info = host.wait_for("a1", lambda i: i.process == "failed", WAIT)
    assert info.error == "data: { details: 'Query closed before response received' }"


def test_through_the_session_host_daemon_it_outlives_the_dashboard(tmp_path: Path) -> None:
    """The daemon runs the ACP agent: its request is queued with no dashboard attached, a
    dashboard that attaches later answers it, and the conversation comes over the socket."""
    from agentdeck.daemon import lifecycle
    from agentdeck.daemon.client import RemoteQueue

    requires("agent-client-protocol", sdk_missing())
    state = tmp_path / "state-dir"
    try:
        host = lifecycle.ensure(state, None)
        host.spawn(spec(tmp_path, "work"))
        host.close()  # the dashboard leaves before the agent asks
        host = lifecycle.ensure(state, None)
        queue = RemoteQueue(host)
        assert poll_until(lambda: bool(queue.pending()), WAIT)
        bash = queue.pending()[0]
        assert (bash.agent, bash.kind, bash.summary) == ("a1", "bash", "echo ran > ran.txt")
        queue.answer(bash.id, "allow")
        assert poll_until(lambda: bool(queue.pending()) and queue.pending()[0].id != bash.id,
                          WAIT)
        queue.answer(queue.pending()[0].id, "allow")
        assert poll_until(lambda: host.info("a1").state == "idle", WAIT)
        assert (tmp_path / "wt" / "notes.txt").read_text() == "hello\nworld\n"
        conversation = host.conversation("a1")
        assert conversation is not None
        assert {i["tool"]["status"] for i in conversation["items"] if i["tool"]} == {"completed"}
        # a pane holding it is sent only what changed since (here: nothing, then one line)
        version = conversation["version"]
        assert host.conversation_since("a1", version)["items"] == []
        host.write("a1", b"hi\r")
        assert poll_until(lambda: any(i["role"] == "agent" for i in host.conversation_since(
            "a1", version)["items"]), WAIT)
        changed = host.conversation_since("a1", version)
        assert [(i["role"], i["text"]) for i in changed["items"]] == [
            ("user", "hi"), ("agent", "echo: hi")]
        assert changed["count"] == len(conversation["items"]) + 2
        assert host.info("a1").tokens_in == 1200  # usage over the wire too
        audit_lines = (state / "audit.jsonl").read_text().splitlines()
        assert [json.loads(line)["via"] for line in audit_lines].count("acp") >= 2
        host.close()
    finally:
        lifecycle.stop(state)


def test_a_write_into_a_forbidden_path_is_refused_and_audited(
        tmp_path: Path, deck: tuple[LocalHost, ApprovalQueue]) -> None:
    host, queue = deck
    host.spawn(SessionSpec(**{**spec(tmp_path, "work").__dict__, "forbid": ("notes.txt",)}))
    bash = entry_of(queue)
    queue.answer(bash.id, "allow")
    queue.answer(entry_of(queue, not_id=bash.id).id, "allow")  # allowed, and still refused
    host.wait_for("a1", lambda i: i.state == "idle", WAIT)
    assert not (tmp_path / "wt" / "notes.txt").exists()
    refused = [a for a in audit(tmp_path) if a["decision"] == "refused"]
    assert [(a["kind"], a["via"]) for a in refused] == [("write", "acp")]
    assert "must not touch (forbid)" in refused[0]["why"]


def test_an_agent_that_dies_is_exited_with_its_status(
        tmp_path: Path, deck: tuple[LocalHost, ApprovalQueue]) -> None:
    host, _ = deck
    host.spawn(spec(tmp_path, "exit"))
    info = host.wait_for("a1", lambda i: i.process != "running", WAIT)
    assert (info.process, info.state, info.exit_code) == ("exited", "exited", 3)


def test_a_message_is_one_prompt_whatever_its_lines(
        tmp_path: Path, deck: tuple[LocalHost, ApprovalQueue]) -> None:
    from agentdeck.core.agents.delivery import type_into

    host, _ = deck
    host.spawn(spec(tmp_path, None))
    host.wait_for("a1", lambda i: i.state == "idle", WAIT)
    assert host.info("a1").channel == "acp"
    assert type_into(host, "a1", "first line\nsecond line")
    host.write("a1", b"ab\x7fc\x1b[Dd\r")  # typed: a Backspace, an arrow key (ignored)

    def said() -> list[str]:
        conversation = host.conversation("a1") or {"items": []}
        return [i["text"] for i in conversation["items"] if i["role"] == "agent"]

    assert poll_until(lambda: len(said()) == 2, WAIT), said()
    assert said() == ["echo: first line\nsecond line", "echo: acd"]


def test_a_command_wrapped_in_a_shell_is_queued_as_its_script() -> None:
    """codex-acp 0.16 sends `["/bin/bash", "-lc", SCRIPT]`: the entry shows SCRIPT, as Codex's
    own approval screen does; any other argv is its words joined."""
    from agentdeck.core.agents.acp.permission import command_of

    assert command_of({"command": ["/bin/bash", "-lc", "echo ran > ran.txt"]}) == (
        "echo ran > ran.txt")
    assert command_of({"command": ["git", "status", "-s"]}) == "git status -s"
    assert command_of({"command": ["bash", "-x", "run.sh"]}) == "bash -x run.sh"
    assert command_of({"cmd": "ls -la"}) == "ls -la"
