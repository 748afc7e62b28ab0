"""The real Claude Code and Codex CLI, offline, inside agentdeck sessions in worktrees.

Each scenario: the scripted model asks for a shell command (answered `y`: it runs in that
worktree and nowhere else), then for a file write (answered `n`: the file never appears and the
agent carries on to the end of its turn), then the agent is idle. Each runs twice: with the
PermissionRequest hook channel (the hook hands the request to the dashboard) and without it
(the screen detector alone catches the prompt). One prompt is one queue entry either way.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from agentdeck.core.deck import Deck
from agentdeck.core.engine.engine import Engine
from agentdeck.core.fleet.kinds import KINDS
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.core.oversight.approvals import ALLOW, DENY, ApprovalQueue, Entry
from agentdeck.core.oversight.queue_records import StaleAnswer
from tests import conftest
from tests.conftest import make_repo, write_fleet
from tests.e2e import real_agents
from tests.e2e.fake_models import FakeModelServer, Script

COMMAND = "echo ran > ran.txt"
NOTE = "notes.txt"


def names_note(summary: str) -> bool:
    """Whether a queue entry's summary names the note: Codex word-wraps a long command itself,
    and cuts a path longer than its width mid-word; the rows are joined with a blank (the
    entry's `joined` says so), so "notes.tx t" where a long temporary folder put the cut there
    (pytest-xdist's folders are longer)."""
    return NOTE in summary or NOTE in summary.replace(" ", "")
TASK = "make the notes"


def wait(condition: Callable[[], object], what: str, timeout: float = 60.0) -> None:
    """Real CLIs take their time: a minute unless said otherwise."""
    conftest.wait(condition, what, timeout, poll=0.05)


def one_entry(queue: ApprovalQueue, deck: Deck, name: str, server: FakeModelServer) -> Entry:
    def ready() -> bool:
        return len(queue.pending()) == 1
    try:
        # (three minutes: on a loaded machine opencode alone took 20 s from its start to its
        # first request, and with three other real CLIs beside it more than the minute)
        wait(ready, "one queue entry", 180)
    except AssertionError:
        screen = "\n".join(deck.host.snapshot(name))
        log = json.dumps(server.requests[-3:], indent=1)[:4000]
        raise AssertionError(f"no queue entry; screen:\n{screen}\nlast requests:\n{log}") from None
    return queue.pending()[0]


# every verified CLI through its screen, and those that take the hook through it too
CASES = [(cli, hooks) for cli in real_agents.VERSIONS
         for hooks in ((True, False) if KINDS[cli].hook else (False,))]


@pytest.mark.parametrize(("cli", "hooks"), CASES,
                         ids=[f"{c}-{'hook' if h else 'screen'}" for c, h in CASES])
def test_real_agent_prompts_reach_the_queue_and_answers_land(cli: str, hooks: bool,
                                                             tmp_path: Path) -> None:
    run_case(cli, hooks, tmp_path)


SANDBOXED = [("claude", True), ("aider", False)]


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")
@pytest.mark.parametrize(("cli", "hooks"), SANDBOXED,
                         ids=[f"{c}-{'hook' if h else 'screen'}" for c, h in SANDBOXED])
def test_real_agents_work_sandboxed(cli: str, hooks: bool, tmp_path: Path) -> None:
    """The same scenario with the agent in its bubblewrap sandbox (network on: the model
    server is on this machine's loopback): its prompts queued and answered, its command run in
    its worktree, its CLI's config written to its own copy, not to its home."""
    home = run_case(cli, hooks, tmp_path, sandbox=True)
    own = tmp_path / "app" / ".git" / "agentdeck" / "sandbox" / cli / "home"
    theirs = {p.name for p in home.iterdir()}
    written = {p.name for p in own.iterdir()} - theirs  # what the CLI made in its home
    assert {"claude": ".claude", "aider": ".aider"}[cli] in written, written
    assert not written & theirs


def run_case(cli: str, hooks: bool, tmp_path: Path, sandbox: bool = False) -> Path:
    """Returns the agent's home."""
    real_agents.require(cli)
    repo = make_repo(tmp_path)
    worktree = (tmp_path / f"wt-{cli}").resolve()
    server = FakeModelServer(Script(command=COMMAND, file_path=NOTE), cwd=worktree,
                             log_path=tmp_path / "requests.jsonl").start()
    try:
        setup = real_agents.SETUPS[cli](tmp_path / f"home-{cli}", worktree, server.url)
        if sandbox:  # a user's git identity (Aider would write one into the repo's config,
            # which a sandboxed agent may not: a hooks path there would run outside it); the
            # tests' own environment hides every global git config
            gitconfig = tmp_path / f"home-{cli}" / ".gitconfig"
            gitconfig.write_text("[user]\n\tname = Dev\n\temail = dev@example.com\n")
            setup.env["GIT_CONFIG_GLOBAL"] = str(gitconfig)
        env = "".join(f"\n      {k}: {json.dumps(v)}" for k, v in setup.env.items())
        write_fleet(repo, f"""version: 1
base: origin/main
worktrees: ../wt-{{name}}
commands:
  {cli}: {json.dumps(setup.command)}
agents:
  - name: {cli}
    agent: {cli}
    branch: feat/{cli}
    task: {TASK}
    sandbox: {"bwrap" if sandbox else "none"}
    env:{env}
approvals:
  hooks: {str(hooks).lower()}
  hook_timeout: 60
""")
        ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
        assert Engine(ctx, fleet).up().exit_code == 0
        deck = Deck.open(ctx, fleet)
        try:
            assert (deck.hooks is not None) == hooks
            run_scenario(deck, cli, hooks, worktree, repo, server)
            if cli in ("claude", "codex") and not sandbox:  # its usage, from its own records
                from agentdeck.core.agents.usage import usage_of

                used = usage_of(cli, str(worktree), setup.env)
                replies = used.tokens_in // 10
                assert replies >= 1 and (used.tokens_in, used.tokens_out) == (
                    10 * replies, 5 * replies), used
            if sandbox:
                assert deck.host.info(cli).pid is not None
                assert "bwrap" in " ".join(psutil.Process(deck.host.info(cli).pid).cmdline())
                check_usage(deck, cli, worktree, tmp_path, server)
        finally:
            deck.close()
    finally:
        server.stop()
        end_left_behind(tmp_path)
    return tmp_path / f"home-{cli}"


def check_usage(deck: Deck, cli: str, worktree: Path, tmp_path: Path,
                server: FakeModelServer) -> None:
    """Usage read from the real CLI's own records: the fake server says each reply used 10
    tokens in and 5 out."""
    from agentdeck.core.agents.usage import aider_lines, usage_of

    if cli == "claude":  # its session transcripts, in its sandbox's home
        own = tmp_path / "app" / ".git" / "agentdeck" / "sandbox" / cli / "home"
        used = usage_of("claude", str(worktree), {"HOME": str(own)})
    else:  # the "Tokens: … sent, … received." lines it printed (its own count of them)
        with deck.host.scrollback(cli) as emulator:
            used = aider_lines("\n".join(emulator.lines()))
        assert used.tokens_in > 0 and used.tokens_out > 0, used
        return
    replies = used.tokens_in // 10
    assert replies >= 1 and used.tokens_in == 10 * replies, used
    assert used.tokens_out == 5 * replies, used


def end_left_behind(tmp_path: Path) -> None:
    """Codex leaves a background app-server daemon per CODEX_HOME (two processes) running after
    it exits: end whatever still runs from this test's folders, so runs do not pile them up."""
    left = [p for p in psutil.process_iter(["exe", "cmdline"])
            if str(tmp_path) in " ".join([p.info["exe"] or "", *(p.info["cmdline"] or [])])]
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, alive = psutil.wait_procs(left, timeout=5)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()


def run_scenario(deck: Deck, cli: str, hooks: bool, worktree: Path, repo: Path,
                 server: FakeModelServer) -> None:
    """Allow the command, deny the file, decline anything else; then the agent is idle."""
    queue, host = deck.queue, deck.host
    states: list[str] = []
    host.subscribe(lambda e: states.append(e.info.state) if e.kind == "state" else None)
    deck.start(deck.records[0], 100, 30)
    # a CLI whose command line does not carry the task (Aider) gets it typed as its first
    # message by the deck once it is ready, as `m` sends messages

    seen: list[tuple[str, str, bool]] = []
    while True:
        entry = one_entry(queue, deck, cli, server)
        assert entry.id not in [s[0] for s in seen]
        via_hook = hooks and cli in ("claude", "codex")
        if not seen:  # it worked on the task before it asked
            assert "working" in states, states
            if not via_hook:
                # (the queue hears the state event before this test's listener does: the
                # entry can be seen a moment before the event is in `states`)
                wait(lambda: "waiting" in states[states.index("working"):],
                     f"the waiting state after working: {states}")
        if via_hook:  # Claude Code draws its dialog while the hook waits: still one entry
            wait(lambda e=entry: queue.via_hook(e.id), "the hook to join the entry", 10)
        else:
            assert not queue.via_hook(entry.id)
            # (the entry stands through a frame drawn without its dialog, as the agent redraws;
            # the state read from that frame says working until the next one)
            wait(lambda: host.info(cli).state == "waiting", f"{cli} shown waiting", 10)
        # both channels have reported it (screen: waiting; hook: joined): still exactly one
        assert [e.id for e in queue.pending()] == [entry.id]
        def answer(decision: str, entry: Entry = entry) -> None:
            try:
                queue.answer(entry.id, decision)
            except StaleAnswer:  # what the queue saw, for the report
                audit = deck.audit_path.read_text() if deck.audit_path.exists() else ""
                raise AssertionError(f"{entry} left the queue unanswered; audit:\n{audit}\n"
                                     "screen:\n" + "\n".join(host.snapshot(cli))) from None

        if names_note(entry.summary):
            assert entry.kind in ("write", "bash"), entry  # Codex writes with a shell command
            answer(DENY)
        elif entry.kind == "bash":
            assert entry.summary == COMMAND, "\n".join(host.snapshot(cli))
            answer(ALLOW)
            wait(lambda: (worktree / "ran.txt").exists(), "the allowed command to run")
        else:
            answer(DENY)  # e.g. Aider's "Add command output to the chat?"
        seen.append((entry.id, entry.kind, names_note(entry.summary)))
        if any(s[2] for s in seen) and any(s[1] == "bash" and not s[2] for s in seen):
            break
    try:
        wait(lambda: (host.info(cli).state == "idle" and not queue.pending()) or (
            len(queue.pending()) == 1 and queue.pending()[0].kind == "other"), "idle", 30)
    except AssertionError:
        screen = "\n".join(host.snapshot(cli))
        raise AssertionError(f"not idle: {host.info(cli).state}, {queue.pending()}, "
                             f"screen:\n{screen}") from None
    for entry in queue.pending():  # a last question of no consequence (Aider's chat output)
        queue.answer(entry.id, DENY)
    wait(lambda: host.info(cli).state == "idle" and not queue.pending(), "idle at the end", 30)
    if hooks and cli in ("claude", "codex"):  # its state events reached the dashboard too
        wait(lambda: host.info(cli).last_event == "Stop", f"{cli}'s Stop hook", 30)
    assert (worktree / "ran.txt").exists() and not (repo / "ran.txt").exists()
    # a first-class terminal: no agent warns about it (Aider's CPR, Claude's tmux hint,
    # Gemini's true colour), and no warning became a queue summary
    with host.terminal(cli) as emulator:
        printed = "\n".join(emulator.history() + emulator.lines()).lower()
    for warning in ("cursor position requests", "focus-events", "true color", "truecolor"):
        assert warning not in printed, (warning, printed[-2000:])
    assert not (worktree / NOTE).exists() and not (repo / NOTE).exists()
    log = [json.loads(line) for line in deck.audit_path.read_text().splitlines()]
    via = "hook" if hooks and cli in ("claude", "codex") else "screen"
    assert not any("warning" in r["summary"].lower() for r in log), log
    answered = [r for r in log if r["by"] == "key"]
    # nothing withdrawn or typed
    assert [r for r in log if r["by"] != "key"] == [], json.dumps(log, indent=1)
    decided = {(r["summary"] == COMMAND, names_note(r["summary"])): r for r in answered}
    assert decided[(True, False)]["decision"] == "allow", log
    assert decided[(False, True)]["decision"] == "deny", log
    assert {r["via"] for r in answered} == {via}

    # its brief (task, scope, "run the tests and report") reached the model its own way
    assert any("Run this worktree's tests" in json.dumps(r["body"]) for r in server.requests)

    # a message typed with `m` reaches the model whole and is submitted (two lines: a paste)
    assert deck.message(cli, "second message\nplease") == "sent"
    try:
        wait(lambda: any("second message" in json.dumps(r["body"]) and "please" in json.dumps(
            r["body"]) for r in server.requests), f"{cli} to send the message to its model", 30)
    except AssertionError:
        screen = "\n".join(host.snapshot(cli))
        raise AssertionError(f"{cli} did not send the message; screen:\n{screen}") from None


def test_claude_first_run_dialogs_are_queued_and_answered_from_the_queue(tmp_path: Path) -> None:
    """A real user's first run: Claude Code asks to trust the folder and to use the API key
    from the environment (both default to "no"). Each is a queue entry of kind `other` with
    its question; `y` from the queue answers it, and Claude reaches its input box."""
    import os

    from agentdeck.core.agents.sessions import LocalHost, SessionSpec
    from agentdeck.core.oversight.approvals import ApprovalQueue

    exe = real_agents.require("claude")
    work, home = tmp_path / "proj", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    (home / ".claude.json").write_text(json.dumps({
        "hasCompletedOnboarding": True, "lastOnboardingVersion": real_agents.VERSIONS["claude"],
        "theme": "dark"}))
    server = FakeModelServer(Script(), cwd=work).start()
    env = dict(os.environ, HOME=str(home), ANTHROPIC_BASE_URL=server.url,
               ANTHROPIC_API_KEY=real_agents.FAKE_KEY, DISABLE_AUTOUPDATER="1",
               CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1")
    host = LocalHost()
    queue = ApprovalQueue(host, tmp_path / "audit.jsonl")
    try:
        host.spawn(SessionSpec("c", [str(exe), "--permission-mode", "default"], str(work), env,
                               agent="claude", cols=100, rows=30))
        questions = []
        for _ in range(2):
            wait(lambda: queue.pending(), "a first-run dialog in the queue", 60)
            entry = queue.pending()[0]
            assert entry.kind == "other" and entry.prompt.options, entry
            questions.append(entry.summary)
            queue.answer(entry.id, "allow")
            wait(lambda e=entry: not queue.pending() or queue.pending()[0].id != e.id,
                 "the dialog to close", 30)
        assert any("trust" in q for q in questions), questions
        assert any("API key" in q for q in questions), questions
        wait(lambda: host.info("c").state == "idle", "Claude's input box", 60)
        audit = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
        assert [(a["kind"], a["decision"]) for a in audit] == [("other", "allow")] * 2
    finally:
        queue.close()
        host.close()
        server.stop()
