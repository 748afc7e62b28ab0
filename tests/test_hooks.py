"""The structured approvals channel: PermissionRequest hooks installed per worktree, handing each
request to the dashboard, merged with the screen detector so one prompt is one queue entry.

Timing-exact cases run against tests/fake_cli.py (asks the way Claude Code or Codex do, hook
included); tests/e2e runs the same paths with the real CLIs.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentdeck.core.deck import Deck, hook_cli
from agentdeck.core.engine.engine import Engine
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.core.oversight import hook_install
from agentdeck.core.oversight.approvals import ALLOW, ALWAYS, DENY
from tests.conftest import git, make_repo, wait, write_fleet

FAKE_CLI = Path(__file__).with_name("fake_cli.py")


def results(log: Path) -> list[dict[str, str]]:
    return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def hooked(tmp_path: Path) -> Iterator[Callable[..., tuple[Deck, Path]]]:
    """A deck whose agents `cc` and `cx` run the fake `claude` and `codex`."""
    decks: list[Deck] = []
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("claude", "codex"):
        exe = bin_dir / name
        exe.write_text(f"#!{sys.executable}\n" + FAKE_CLI.read_text())
        exe.chmod(0o755)
    log = tmp_path / "results.jsonl"

    def make(timeout: int = 60, hooks: bool = True) -> tuple[Deck, Path]:
        repo = make_repo(tmp_path)
        env = f"{{FAKE_CLI_LOG: {json.dumps(str(log))}}}"
        write_fleet(repo, f"""version: 1
base: origin/main
worktrees: ../wt-{{name}}
commands:
  claude: {bin_dir}/claude
  codex: {bin_dir}/codex
agents:
  - {{name: cc, agent: claude, branch: feat/cc, env: {env}}}
  - {{name: cx, agent: codex, branch: feat/cx, env: {env}}}
approvals: {{hooks: {str(hooks).lower()}, hook_timeout: {timeout}}}
""")
        ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
        assert Engine(ctx, fleet).up().exit_code == 0
        deck = Deck.open(ctx, fleet)
        decks.append(deck)
        return deck, log

    yield make
    for deck in decks:
        deck.close()


def start(deck: Deck, name: str) -> None:
    deck.start(next(r for r in deck.records if r.name == name), 100, 30)


def test_claude_dialog_and_hook_are_one_entry_answered_through_the_hook(hooked) -> None:
    deck, log = hooked()
    start(deck, "cc")
    wait(lambda: deck.queue.pending(), "an entry")
    entry = deck.queue.pending()[0]
    wait(lambda: deck.queue.via_hook(entry.id), "the hook to join the screen's entry")
    wait(lambda: deck.host.info("cc").state == "waiting", "the dialog on screen")
    assert [(e.id, e.kind, e.summary) for e in deck.queue.pending()] == [
        (entry.id, "bash", "echo ran > ran.txt")]
    deck.queue.answer(entry.id, ALLOW)
    wait(lambda: results(log), "the fake claude's result")
    assert results(log) == [{"decision": "allow", "via": "hook"}]
    wait(lambda: deck.host.info("cc").state == "idle", "idle")
    wait(lambda: deck.queue.pending() == [], "the queue to empty")
    audit = [json.loads(x) for x in deck.audit_path.read_text().splitlines()]
    assert [(a["agent"], a["decision"], a["via"]) for a in audit] == [("cc", "allow", "hook")]


def test_allow_always_through_claude_hook_keeps_its_suggested_rules(hooked) -> None:
    deck, log = hooked()
    start(deck, "cc")
    wait(lambda: (e := deck.queue.entry_for("cc")) and deck.queue.via_hook(e.id), "hook")
    deck.queue.answer(deck.queue.entry_for("cc").id, ALWAYS)
    wait(lambda: results(log), "result")
    assert results(log) == [{"decision": "always", "via": "hook"}]


def test_claude_answered_in_its_own_pane_leaves_nothing_queued(hooked) -> None:
    deck, log = hooked()
    start(deck, "cc")
    wait(lambda: (e := deck.queue.entry_for("cc")) and deck.queue.via_hook(e.id), "hook")
    wait(lambda: deck.host.info("cc").state == "waiting", "the dialog on its screen")
    deck.queue.typed("cc", b"3")  # typed in its pane (typing mode)
    deck.host.write("cc", b"3")
    wait(lambda: results(log), "result")
    assert results(log) == [{"decision": "deny", "via": "keys"}]
    wait(lambda: not deck.queue.pending(), "the entry to go")
    last = deck.queue.history[-1]
    assert (last.decision, last.by, last.via, last.keys) == ("deny", "user", "pane", "3")


def test_codex_asks_its_hook_first_and_the_queue_answers_it(hooked) -> None:
    deck, log = hooked()
    start(deck, "cx")
    wait(lambda: deck.queue.pending(), "an entry")
    entry = deck.queue.pending()[0]
    assert deck.queue.via_hook(entry.id)
    assert (entry.kind, entry.summary) == ("bash", "echo ran > ran.txt")
    assert "Would you like" not in "\n".join(deck.host.snapshot("cx"))  # no dialog yet
    deck.queue.answer(entry.id, DENY)
    wait(lambda: results(log), "result")
    assert results(log) == [{"decision": "deny", "via": "hook"}]


def test_a_hook_that_times_out_hands_its_entry_to_the_screen(hooked) -> None:
    """Codex: no answer within hook_timeout -> the hook declines, Codex draws its dialog, the
    screen detector sees it: the same entry (same id, same age) carries on, never two."""
    deck, log = hooked(timeout=1)
    start(deck, "cx")
    wait(lambda: deck.queue.pending(), "an entry")
    entry = deck.queue.pending()[0]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pending = deck.queue.pending()
        assert [e.id for e in pending] == [entry.id]  # throughout the hand-over
        if not deck.queue.via_hook(entry.id) and deck.host.info("cx").state == "waiting":
            break
        time.sleep(0.01)
    else:
        raise AssertionError("the dialog never took over")
    assert deck.queue.pending()[0].created == entry.created
    deck.queue.answer(entry.id, ALLOW)
    wait(lambda: results(log), "result")
    assert results(log) == [{"decision": "allow", "via": "keys"}]


def test_hooks_off_means_no_settings_file_and_no_flags(hooked) -> None:
    deck, _ = hooked(hooks=False)
    assert deck.hooks is None
    start(deck, "cc")
    start(deck, "cx")
    wait(lambda: len(deck.queue.pending()) == 2, "both dialogs")
    assert not (deck.ctx.state_dir / hook_install.HOOKS_DIR).exists()
    assert not any(deck.queue.via_hook(e.id) for e in deck.queue.pending())


def test_claude_hook_settings_live_in_the_registry_not_in_the_users_files(hooked) -> None:
    """Claude Code gets its hook through --settings: the worktree (and the user's own
    .claude/settings.local.json there) is never written, git sees nothing, the file is 0600."""
    deck, _ = hooked()
    cc = next(r for r in deck.records if r.name == "cc")
    settings = Path(cc.worktree) / ".claude" / "settings.local.json"
    settings.parent.mkdir(parents=True)
    mine = json.dumps({"permissions": {"allow": ["Bash(npm test)"]}})
    settings.write_text(mine)
    start(deck, "cc")
    wait(lambda: deck.queue.pending(), "its prompt")
    assert settings.read_text() == mine  # untouched
    ours = deck.ctx.state_dir / hook_install.HOOKS_DIR / "cc.claude-settings.json"
    assert stat.S_IMODE(ours.stat().st_mode) == 0o600
    assert hook_install.MARK in ours.read_text()
    assert git(Path(cc.worktree), "status", "--porcelain") == "?? .claude/\n"  # only the user's


def test_the_socket_is_private_and_a_second_dashboard_leaves_it_alone(hooked) -> None:
    deck, _ = hooked()
    assert deck.hooks is not None
    mode = stat.S_IMODE(os.stat(deck.hooks.path).st_mode)
    assert mode == 0o600
    # a second dashboard that would host the agents itself is refused: they would run twice
    from agentdeck.core.errors import OperationError

    with pytest.raises(OperationError, match="already runs this repository's agents"):
        Deck.open(deck.ctx, deck.fleet)
    assert deck.hooks.path.exists()  # the first one still listens


def test_the_hook_command_without_a_dashboard_declines_at_once(tmp_path: Path) -> None:
    request = json.dumps({"tool_name": "Bash", "tool_input": {"command": "ls"}})
    proc = subprocess.run([sys.executable, "-m", "agentdeck", "hook", "permission-request",
                           "--agent", "a", "--cli", "claude", "--socket",
                           str(tmp_path / "nobody.sock")], input=request,
                          capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_codex_trust_hash_matches_what_codex_accepted() -> None:
    # Codex 0.169.0 ran this hook from `-c hooks={…}` with this trust hash (recorded by hand
    # with the real binary; tests/e2e runs the real one when installed)
    group = {"hooks": [{"type": "command", "command": "/tmp/cx/hook.sh A", "timeout": 600,
                        "async": False}]}
    assert hook_install.codex_trust_hash("permission_request", group) == (
        "sha256:4636d3a98330990084a83623feb6af6662760f17b9a1708005d4f4afc4083cb1")
    command = hook_install.hook_command("a b", "codex", Path("/tmp/x y/approvals.sock"), 60)
    flags = hook_install.with_codex_hook(["codex", "--model", "m", "task"], command, 60)
    assert flags[:2] == ["codex", "-c"] and flags[3:] == ["--model", "m", "task"]
    import tomllib

    hooks = tomllib.loads(flags[2])["hooks"]
    assert hooks["PermissionRequest"][0]["hooks"][0]["command"] == command
    # the state events, each with the trust record Codex needs to run it
    event = hook_install.event_command(command)
    assert "hook event" in event and "--timeout" not in event
    for name, key in hook_install.CODEX_EVENTS:
        group = hooks[name][0]
        assert group["hooks"][0]["command"] == event
        assert hooks["state"][f"{hook_install.CODEX_FLAGS_SOURCE}:{key}:0:0"] == {
            "trusted_hash": hook_install.codex_trust_hash(key, group)}


def test_which_agents_take_which_hook() -> None:
    assert hook_cli("claude", ["claude", "--model", "x"]) == "claude"
    assert hook_cli("claude", ["python", "look_alike.py"]) is None  # flags: the real CLI only
    assert hook_cli("codex", ["/opt/bin/codex"]) == "codex"
    assert hook_cli("codex", ["python", "-m", "demo", "--style", "codex"]) is None  # no flags
    assert hook_cli("aider", ["aider"]) is None


def test_a_codex_apply_patch_request_shows_its_files_and_counts() -> None:
    """Codex edits files through an apply_patch heredoc: the queue and the audit line say
    which files and how much, not the raw patch."""
    from agentdeck.core.oversight.hook_channel import prompt_for

    patch = ("apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: notes.txt\n+one\n+two\n"
             "*** Update File: src/app.py\n@@\n-print('hello')\n+print('hi')\n+print('bye')\n"
             "*** Delete File: old.txt\n*** End Patch\nEOF\n")
    prompt, _ = prompt_for({"tool_name": "exec_command", "tool_input": {"cmd": patch}}, "codex")
    assert (prompt.kind, prompt.summary) == (
        "edit", "notes.txt (+2 -0), src/app.py (+2 -1), old.txt (deleted)")
    added, _ = prompt_for({"tool_name": "exec_command", "tool_input": {
        "cmd": "apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: a.md\n+x\n*** End Patch\nEOF"}},
        "codex")
    assert (added.kind, added.summary) == ("write", "a.md (+1 -0)")


def test_claude_state_events_tell_the_state_the_screen_does_not(tmp_path: Path) -> None:
    """Structured first: Claude Code's Stop / UserPromptSubmit / Notification hooks (run as
    `agentdeck hook event`) set the state of an agent whose screen says nothing recognisable;
    without them a screen that keeps printing reads as working forever."""
    import subprocess

    from agentdeck.core.agents.sessions import LocalHost, SessionSpec
    from agentdeck.core.oversight.hook_channel import HookServer, socket_path

    ticker = tmp_path / "ticker.py"
    ticker.write_text("import sys, time\nwhile True:\n    sys.stdout.write('.')\n"
                      "    sys.stdout.flush()\n    time.sleep(0.1)\n")
    host = LocalHost()
    server = HookServer(socket_path(tmp_path / "state"), lambda hook: hook.reply(None),
                        lambda hook: None, host.hint)
    command = hook_install.hook_command("cc", "claude", server.path, 60)
    event = hook_install.event_command(command)
    assert "permission-request" not in event and " event " in f" {event} "

    def send(payload: dict[str, str]) -> None:
        subprocess.run(event, shell=True, input=json.dumps(payload), text=True, check=True,
                       timeout=30)

    try:
        host.spawn(SessionSpec("cc", [sys.executable, str(ticker)], str(tmp_path),
                               dict(os.environ), agent="claude", cols=80, rows=10))
        wait(lambda: "..." in "".join(host.snapshot("cc")), "output")
        assert host.info("cc").state == "working"
        send({"hook_event_name": "Stop", "session_id": "s"})
        wait(lambda: host.info("cc").state == "idle", "idle from the Stop hook")
        assert host.info("cc").last_event == "Stop"
        send({"hook_event_name": "UserPromptSubmit", "prompt": "go on"})
        wait(lambda: host.info("cc").state == "working", "working from UserPromptSubmit")
        send({"hook_event_name": "Notification", "notification_type": "idle_prompt",
              "message": "Claude is waiting for your input"})
        wait(lambda: host.info("cc").state == "idle", "idle from the idle notification")
    finally:
        server.close()
        host.close()


def test_claude_settings_carry_the_state_event_hooks(tmp_path: Path) -> None:
    command = hook_install.hook_command("cc", "claude", tmp_path / "s.sock", 60)
    path = hook_install.claude_settings(tmp_path, "cc", command, 60)
    hooks = json.loads(path.read_text())["hooks"]
    assert set(hooks) == {"PermissionRequest", *hook_install.CLAUDE_EVENTS}
    assert hooks["Stop"][0]["hooks"][0]["command"] == hook_install.event_command(command)


def test_the_hook_never_waits_on_an_open_stdin_and_refuses_a_nan_timeout(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    # the request arrives but stdin stays open: the hook goes on (no dashboard: it declines)
    proc = subprocess.Popen([sys.executable, "-m", "agentdeck", "hook", "permission-request",
                             "--agent", "a", "--cli", "claude", "--socket",
                             str(tmp_path / "none.sock"), "--timeout", "3"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(b'{"tool_name": "Bash", "tool_input": {"command": "ls"}}')
    proc.stdin.flush()
    started = time.monotonic()
    assert proc.stdout is not None
    out = proc.stdout.read()  # until it exits: its stdin is still open
    assert proc.wait(timeout=30) == 0 and out == b""
    assert time.monotonic() - started < 20
    proc.stdin.close()
    # nothing at all on an open stdin: it waits no longer than its timeout
    silent = subprocess.Popen([sys.executable, "-m", "agentdeck", "hook", "permission-request",
                               "--agent", "a", "--cli", "claude", "--socket",
                               str(tmp_path / "none.sock"), "--timeout", "1"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert silent.wait(timeout=30) == 0
    assert silent.stdin is not None
    silent.stdin.close()
    bad = subprocess.run([sys.executable, "-m", "agentdeck", "hook", "permission-request",
                          "--agent", "a", "--cli", "claude", "--socket", "x", "--timeout", "nan"],
                         input="{}", capture_output=True, text=True, timeout=30)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--timeout" in bad.stderr


def test_an_always_answer_shows_what_it_covers() -> None:
    """Claude Code's suggested rules say how wide "allow always" is: the queue shows it."""
    from agentdeck.core.oversight.hook_channel import prompt_for

    request = {"tool_name": "Bash", "tool_input": {"command": "npm test -- --watch=false"},
               "permission_suggestions": [{"type": "addRules", "behavior": "allow",
                                           "rules": [{"toolName": "Bash",
                                                      "ruleContent": "npm test:*"}]}]}
    prompt, always = prompt_for(request, "claude")
    assert always and prompt.always_scope == "Bash(npm test:*)"
    request["permission_suggestions"] = [{"type": "addRules", "rules": [{"toolName": "Bash"}]}]
    assert prompt_for(request, "claude")[0].always_scope == "every Bash request"
    del request["permission_suggestions"]
    prompt, always = prompt_for(request, "claude")
    assert not always and prompt.always_scope == ""
