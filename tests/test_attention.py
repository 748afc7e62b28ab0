"""Keys the user rebinds (fleet `dashboard.keys` and the personal keymap file) and desktop
notifications through the terminal."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from agentdeck.core.deck import Deck
from agentdeck.core.engine.engine import Engine
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.core.oversight.alerts import desktop_notification
from agentdeck.ui.app import AgentdeckApp
from agentdeck.ui.keymap import load_keymap
from tests.conftest import make_repo, write_fleet

ASK = ("import sys, tty; tty.setraw(0); sys.stdout.write('Run npm test? [y/n] '); "
       "sys.stdout.flush(); k = sys.stdin.read(1); sys.stdout.write('\\r\\ngot ' + k + '\\r\\n'); "
       "sys.stdout.flush(); sys.stdin.read(1)")


@pytest.fixture
def asking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    repo = make_repo(tmp_path)
    ask = tmp_path / "ask.py"
    ask.write_text(ASK)
    write_fleet(repo, f"""version: 1
base: origin/main
worktrees: ../wt-{{name}}
commands: {{ask: "{sys.executable} {ask}"}}
agents: [{{name: w, branch: feat/w, agent: ask}}]
dashboard:
  keys: {{allow: Y, no-such-action: x}}
""")
    keymap = tmp_path / "keymap.yaml"
    keymap.write_text("deny: ctrl+n\n")
    monkeypatch.setenv("AGENTDECK_KEYMAP", str(keymap))
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    deck = Deck.open(ctx, fleet)
    yield deck
    deck.close()


async def test_rebound_keys_answer_and_mistakes_are_reported(asking) -> None:
    deck = asking
    app = AgentdeckApp(deck)
    async with app.run_test(size=(150, 40)) as pilot:
        deadline = time.monotonic() + 15
        while not deck.queue.pending():
            assert time.monotonic() < deadline, "no prompt"
            await pilot.pause(0.05)
        assert any("no action 'no-such-action'" in n.message for n in app._notifications)
        await pilot.press("y")  # the default key is rebound: nothing happens
        assert not [w for w in app.workers if w.group == "answer"]  # no answer was started
        assert deck.queue.pending()
        await pilot.press("Y")
        deadline = time.monotonic() + 10
        while "got y" not in "\n".join(deck.host.snapshot("w")):
            assert time.monotonic() < deadline, deck.host.snapshot("w")
            await pilot.pause(0.05)


def test_keymap_file_overrides_the_fleet_and_bad_files_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text("allow: ctrl+y\n")
    keymap, problems = load_keymap({"allow": "Y", "zoom": "f"}, ["allow", "zoom"], path)
    assert keymap == {"allow": "ctrl+y", "zoom": "f"} and problems == []
    path.write_text("[not, a, mapping]\n")
    keymap, problems = load_keymap({}, ["allow"], path)
    assert keymap == {} and "expected 'action: keys'" in problems[0]


def test_desktop_notification_carries_no_control_characters() -> None:
    text = desktop_notification("agentdeck: w waits", "bash: rm -rf x\x1b]0;pwned\x07; echo")
    assert text.startswith("\x1b]777;notify;agentdeck: w waits;bash: rm -rf x ]0 pwned   echo")
    assert text.count("\x1b") == 4  # the two sequences' own ESC ] and ESC \ only


def test_the_fleet_accepts_desktop_and_keys(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_fleet(repo, "version: 1\ndashboard: {desktop: true, keys: {zoom: f}, "
                "agent_size: 120x40}\n")
    dash = load_fleet(repo / "agentdeck.yaml").dashboard
    assert (dash.desktop, dash.keys, dash.agent_size) == (True, {"zoom": "f"}, (120, 40))


def test_desktop_notifiers_per_platform() -> None:
    from agentdeck.core.oversight.alerts import notifier_argv

    def which(name: str) -> str | None:
        return {"notify-send": "/usr/bin/notify-send", "osascript": "/usr/bin/osascript"}.get(
            name)

    assert notifier_argv("t", "b", "linux", which) == ["/usr/bin/notify-send", "t", "b"]
    mac = notifier_argv('t"; do shell script "x', "b", "darwin", which)
    # the title and the text are arguments of the script, never part of it
    assert mac is not None and mac[0] == "osascript" and mac[-2:] == ['t"; do shell script "x',
                                                                       "b"]
    assert notifier_argv("t", "b", "linux", lambda _n: None) is None


def test_a_notification_reaches_the_terminal_through_tmux(tmp_path: Path) -> None:
    """A real tmux with passthrough on, a client attached in a PTY: the OSC 777 the dashboard
    writes inside tmux arrives, unwrapped, at the terminal tmux runs in."""
    import shutil
    import subprocess

    import pexpect

    if shutil.which("tmux") is None:
        raise AssertionError("tmux is needed for this test (.ci/run installs it)")
    go = tmp_path / "go"
    script = tmp_path / "notify.py"
    script.write_text(
        "import os, sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})\n"
        "from agentdeck.core.oversight.alerts import desktop_notification\n"
        f"while not os.path.exists({str(go)!r}): time.sleep(0.02)\n"
        "sys.stdout.write(desktop_notification('agentdeck: w waits', 'bash: ls', tmux=True))\n"
        "sys.stdout.flush(); time.sleep(60)\n")
    sock = f"agentdeck-test-{os.getpid()}"
    tmux = ["tmux", "-L", sock, "-f", os.devnull]
    subprocess.run([*tmux, "new-session", "-d", "-x", "80", "-y", "24",
                    f"{sys.executable} {script}"], check=True)
    try:
        subprocess.run([*tmux, "set-option", "-g", "allow-passthrough", "on"], check=True)
        client = pexpect.spawn(tmux[0], [*tmux[1:], "attach"], env={**os.environ,
                               "TERM": "xterm-256color"}, dimensions=(24, 80))
        client.expect_exact("\x1b[", timeout=10)  # the client draws: it is attached
        go.write_text("")
        client.expect_exact(b"\x1b]777;notify;agentdeck: w waits;bash: ls", timeout=10)
        client.expect_exact(b"\x1b]9;agentdeck: w waits: bash: ls", timeout=10)
        client.close(force=True)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
