"""The real agent CLIs on the ACP channel, offline against the scripted model server: each is
started with its kind's ACP command (core/fleet/kinds.py) by the session host, its bash and
edit permission requests are queued once with the whole command / file, `y` and `n` take
effect in its own worktree only, the audit line says `via: acp` with the tool call id and the
option, its usage is counted, and a restart resumes its session (session/load).

What each CLI does here, seen with the versions the registry verified:
- Gemini CLI 0.61.0 (`gemini --acp`): runs the command itself and writes through the client's
  fs/write_text_file (it reads the file first: a missing one reads as empty); usage in the
  prompt response's `_meta.quota`; it loads a session it saved (its chat file under HOME).
- Qwen Code 0.24.4 (`qwen --acp --approval-mode default`: without it edits are not asked);
  usage in an empty message chunk's `_meta.usage` after each model call.
- opencode 1.18.33 and Kilo 7.7.7 (`opencode acp`, `kilo acp`), Copilot CLI 1.0.102
  (`copilot --acp`): options once / always / reject, usage in the prompt response.
- Claude Code through claude-agent-acp 0.23.1 (the Claude Code 2.1.83 of its SDK): its own Bash
  and Write tools, each asked through the client; usage in the prompt response. As root it
  needs IS_SANDBOX=1 (its Claude Code refuses root otherwise).
- Codex through codex-acp 0.16.0: asks before a command that requests escalation (the fake
  model's `require_escalated`, with `approval_policy = "on-request"`, as the PTY Codex path)
  and before an apply_patch edit (a "Yes" / "No" request with the diff); a command comes as
  `["/bin/bash", "-lc", SCRIPT]` (the queue shows SCRIPT); its tokens only as `usage_update`
  (one per model call, the context it fills), counted as input.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentdeck.core.agents.acp import sdk_missing
from agentdeck.core.agents.programs import command_program
from agentdeck.core.agents.sessions import LocalHost, SessionSpec, poll_until
from agentdeck.core.fleet.kinds import KINDS
from agentdeck.core.oversight.approvals import ApprovalQueue, Entry
from tests.conftest import requires
from tests.e2e import real_agents
from tests.e2e.fake_models import FakeModelServer, Script

WAIT = 120.0
TASK = "Run the command, then write the file."


@dataclass
class Run:
    host: LocalHost
    queue: ApprovalQueue
    spec: SessionSpec
    worktree: Path
    tmp: Path

    def entry(self, not_id: int = 0) -> Entry:
        found: list[Entry] = []

        def queued() -> bool:
            entry = self.queue.entry_for("a")
            if entry is not None and entry.id != not_id:
                found.append(entry)
                return True
            return self.host.info("a").process != "running"

        assert poll_until(queued, WAIT) and found, (
            f"no request queued: {self.host.info('a')}, {self.host.snapshot('a')[-8:]}")
        return found[-1]

    def audit(self) -> list[dict[str, str]]:
        path = self.tmp / "audit.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


MODELS = {"gemini": "gemini-2.5-flash", "qwen": "fake-model", "copilot": "fake-model",
          "codex": "fake-model"}
# the option ids each CLI offers for allow once / allow always / reject
OPTIONS = {"claude": ("allow", "allow_always", "reject"),
           "codex": ("approved", "approved-execpolicy-amendment", "abort"),
           "gemini": ("proceed_once", "proceed_always", "cancel"),
           "qwen": ("proceed_once", "proceed_always_project", "cancel"),
           "opencode": ("once", "always", "reject"), "kilo": ("once", "always", "reject"),
           "copilot": ("allow_once", "allow_always", "reject_once")}
CLIS = list(OPTIONS)


def acp_argv(cli: str, exe: Path) -> list[str]:
    """The kind's ACP command, as a fleet starts it, with the installed binary in place of its
    program (and "--model" dropped with its value where the CLI takes none here)."""
    template = KINDS[cli].acp
    assert template is not None
    program = command_program(template)
    argv: list[str] = []
    for token in shlex.split(template):
        if "{model}" in token and cli not in MODELS:
            argv.pop()
            continue
        argv.append(str(exe) if token == program else token.format(model=MODELS.get(cli, "")))
    return argv


@pytest.fixture
def acp_run(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Run]:
    cli = request.param
    requires("agent-client-protocol", sdk_missing())
    exe = real_agents.require(f"{cli}-acp" if KINDS[cli].adapter else cli)
    if cli == "claude":
        real_agents.require("claude")  # (its e2e HOME is the pinned Claude Code's)
    worktree = tmp_path / "wt"
    worktree.mkdir()
    subprocess.run(["git", "init", "-q", str(worktree)], check=True)
    # Codex edits files with apply_patch, which its adapter asks about as an edit
    server = FakeModelServer(Script(codex_patch=cli == "codex"), cwd=worktree,
                             log_path=tmp_path / "model.jsonl").start()
    setup = real_agents.SETUPS[cli](tmp_path / "home", worktree, server.url)
    if cli == "claude" and os.geteuid() == 0:
        setup.env["IS_SANDBOX"] = "1"  # (its Claude Code refuses to run as root otherwise)
    host = LocalHost()
    queue = ApprovalQueue(host, tmp_path / "audit.jsonl")
    spec = SessionSpec(name="a", argv=tuple(acp_argv(cli, exe)), cwd=str(worktree),
                       env={**os.environ, **setup.env}, agent=cli, channel="acp", prompt=TASK,
                       state_file=str(tmp_path / "acp-a.json"))
    try:
        yield Run(host, queue, spec, worktree, tmp_path)
    finally:
        queue.close()
        host.close()
        server.stop()


@pytest.mark.parametrize("acp_run", CLIS, indirect=True)
def test_acp_bash_allowed_edit_denied_usage_counted_and_restart_resumes(acp_run: Run) -> None:
    run, cli = acp_run, acp_run.spec.agent
    once, _always, reject = OPTIONS[cli]
    run.host.spawn(run.spec)
    bash = run.entry()
    assert (bash.kind, bash.summary) == ("bash", "echo ran > ran.txt")
    assert run.host.info("a").state == "waiting"
    run.queue.answer(bash.id, "allow")
    edit = run.entry(not_id=bash.id)
    assert edit.kind in ("edit", "write")
    assert edit.summary.startswith(f"{run.worktree / 'notes.txt'} ("), edit.summary
    run.queue.answer(edit.id, "deny")
    run.host.wait_for("a", lambda i: i.state == "idle", WAIT)
    assert (run.worktree / "ran.txt").read_text() == "ran\n"
    assert not (run.worktree / "notes.txt").exists()  # denied: not written
    lines = [a for a in run.audit() if a["via"] == "acp"]
    assert [(a["kind"], a["decision"], a["option"]) for a in lines] == [
        ("bash", "allow", once), (edit.kind, "deny", reject)]  # each request queued once
    assert all(a["tool_call_id"] for a in lines)
    info = run.host.info("a")
    assert info.tokens_in > 0 and (info.tokens_out > 0 or cli == "codex"), info

    saved = json.loads(Path(run.spec.state_file or "").read_text())["session_id"]
    run.host.stop("a")
    run.host.wait_for("a", lambda i: i.process != "running", WAIT)
    if cli == "gemini":
        gemini_minute_passed(run.tmp / "home", saved)
    run.host.spawn(SessionSpec(**{**run.spec.__dict__, "resume": True, "prompt": None}))
    run.host.wait_for("a", lambda i: i.state == "idle", WAIT)
    conversation = run.host.conversation("a")
    assert conversation is not None
    notes = [i["text"] for i in conversation["items"] if i["role"] == "note"]
    assert notes == [f"resumed session {saved}"], notes


def gemini_minute_passed(home: Path, session_id: str) -> None:
    """Wait until the minute Gemini CLI 0.61 started its chat file in has passed (UTC).

    Its chat file is named after that minute and the session's id
    (`session-2026-12-07T23-21-d651346e.jsonl`), and session/load first starts a recording of
    the loaded id, before it reads the chat: in the same minute that is the same file, and the
    recording's first line (`$set: messages` with its context message alone) wipes, to its
    reader, what the chat said — "No previous sessions found for this project." A restart in
    a later minute writes another file and resumes. (Seen in every same-minute restart here.)"""
    chats = list(home.glob(f".gemini/tmp/*/chats/session-*-{session_id[:8]}.jsonl"))
    assert chats, f"no chat file of {session_id} under {home}"
    minute = chats[0].name.removeprefix("session-")[:16]  # 2026-12-07T23-21

    def passed() -> bool:
        return datetime.now(UTC).strftime("%Y-%m-%dT%H-%M") != minute

    assert poll_until(passed, 90.0, interval=0.5)


@pytest.mark.parametrize("acp_run", ["gemini", "opencode"], indirect=True)
def test_acp_always_and_a_numbered_option_write_through(acp_run: Run) -> None:
    run, cli = acp_run, acp_run.spec.agent
    once, always, _reject = OPTIONS[cli]
    run.host.spawn(run.spec)
    bash = run.entry()
    run.queue.answer(bash.id, "always")
    edit = run.entry(not_id=bash.id)
    number = 1 + [option for _, option in edit.prompt.options].index(once)
    record = run.queue.answer(edit.id, f"option {number}")  # its menu's "allow once"
    assert record.decision.startswith(f"option {number}: ")
    run.host.wait_for("a", lambda i: i.state == "idle", WAIT)
    assert (run.worktree / "notes.txt").read_text() == "written by the scripted model\n"
    assert [a["option"] for a in run.audit() if a["via"] == "acp"] == [always, once]
