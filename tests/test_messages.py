"""Messages to agents (m, M): the text arrives whole and is submitted by an Enter of its own,
bracketed as a paste when the agent asked for bracketed paste; a broadcast reaches each marked
agent."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import pytest

from agentdeck.core.agents.delivery import PASTE_END, PASTE_START, delivery
from agentdeck.core.deck import Deck
from agentdeck.core.engine.engine import Engine
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.ui.app import AgentdeckApp
from agentdeck.ui.screens.dashboard import DashboardScreen
from agentdeck.ui.widgets.agent_list import AgentList
from agentdeck.ui.widgets.terminal_pane import TerminalPane
from tests.conftest import make_repo, write_fleet
from tests.conftest import until as _until

# reads its terminal raw, as Ink does, and logs each read: a CR glued to the text would be
# part of a paste, not a submit. It echoes what is typed in its input line, a paste as a
# placeholder, and clears the line on Enter, as the real CLIs do.
INK_LIKE = r"""
import json, os, sys, tty
tty.setraw(0)
if sys.argv[2] == "paste":
    os.write(1, b"\x1b[?2004h")
os.write(1, b"> ")
while True:
    data = os.read(0, 4096)
    with open(sys.argv[1], "a") as fh:
        fh.write(json.dumps(data.decode()) + "\n")
    if data == b"\r":
        os.write(1, b"\r\x1b[K> ")
    elif data.startswith(b"\x1b[200~"):
        os.write(1, b"[Pasted text +%d lines]" % data.count(b"\r"))
    else:
        os.write(1, data)
"""


def test_delivery_plans() -> None:
    plan = delivery("claude", "fix the login\nthen run the tests\n", bracketed_paste=True)
    assert plan is not None and plan.pasted
    assert (plan.typed, plan.submit) == (
        PASTE_START + b"fix the login\rthen run the tests" + PASTE_END, b"\r")
    assert plan.echo == "thenrunthetests"  # Enter waits for the text (or a placeholder)
    flat = delivery("codex", "one\n two ", bracketed_paste=False)
    assert flat is not None and (flat.typed, flat.submit, flat.echo) == (b"one two", b"\r",
                                                                         "onetwo")
    shell = delivery("shell", "ls\npwd", False)
    assert shell is not None and (shell.typed, shell.submit) == (b"ls\rpwd\r", b"")
    assert delivery("aider", "  \n", True) is None


@pytest.fixture
def inky(tmp_path: Path):
    repo = make_repo(tmp_path)
    agent = tmp_path / "ink_like.py"
    agent.write_text(INK_LIKE)
    logs = {n: tmp_path / f"{n}.jsonl" for n in ("pasty", "plain", "other")}
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands:
  pasty: "{sys.executable} {agent} {logs['pasty']} paste"
  plain: "{sys.executable} {agent} {logs['plain']} plain"
  other: "{sys.executable} {agent} {logs['other']} paste"
agents:
  - {{name: pasty, agent: pasty, branch: feat/pasty}}
  - {{name: plain, agent: plain, branch: feat/plain}}
  - {{name: other, agent: other, branch: feat/other}}
""")
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    deck = Deck.open(ctx, fleet)
    yield deck, logs
    deck.close()


until = functools.partial(_until, timeout=15.0)


def reads(path: Path) -> list[str]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


async def test_m_types_a_message_and_submits_it_separately(inky) -> None:
    deck, logs = inky
    app = AgentdeckApp(deck)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: all(deck.host.info(n).process == "running"
                                       for n in ("pasty", "plain")) if len(
            deck.host.sessions()) == 3 else False)
        await until(pilot, lambda: ">" in "".join(deck.host.snapshot("pasty")))
        agents = app.query_one(AgentList)
        agents.focus()
        agents.move_cursor(row=agents.get_row_index("pasty"))
        await pilot.press("m")
        await pilot.pause()
        await pilot.press(*"add tests", "enter", *"then commit")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(reads(logs["pasty"])) >= 2)
        assert reads(logs["pasty"]) == ["\x1b[200~add tests\rthen commit\x1b[201~", "\r"]

        agents.move_cursor(row=agents.get_row_index("plain"))
        await pilot.press("m", *"hello", "enter", *"there", "ctrl+s")
        await until(pilot, lambda: len(reads(logs["plain"])) >= 2)
        assert reads(logs["plain"]) == ["hello there", "\r"]


async def test_M_broadcasts_to_the_marked_agents(inky) -> None:
    deck, logs = inky
    app = AgentdeckApp(deck)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: sum(i.process == "running"
                                       for i in deck.host.sessions()) == 3)
        await until(pilot, lambda: ">" in "".join(deck.host.snapshot("plain")))
        agents = app.query_one(AgentList)
        agents.focus()
        for name in ("pasty", "plain"):
            agents.move_cursor(row=agents.get_row_index(name))
            await pilot.press("space")
        assert agents.marked == {"pasty", "plain"}
        await pilot.press("M", *"rebase on main", "ctrl+s")
        await until(pilot, lambda: len(reads(logs["plain"])) >= 2
                    and len(reads(logs["pasty"])) >= 2)
        assert reads(logs["plain"]) == ["rebase on main", "\r"]
        assert reads(logs["pasty"]) == ["rebase on main", "\r"]
        assert not (logs["other"]).exists()  # not marked: nothing sent


# asks first (raw mode, like a CLI's menu), then takes messages like INK_LIKE
ASKS_FIRST = r"""
import json, os, sys, tty
tty.setraw(0)
os.write(1, b"Run make deploy? [y/n] ")
log = sys.argv[1]
def note(data):
    with open(log, "a") as fh:
        fh.write(json.dumps(data.decode()) + "\n")
answer = b""
while not answer.endswith(b"\r"):
    data = os.read(0, 4096)
    note(data)
    answer += data
os.write(1, b"\r\ndeploying\r\n> ")
while True:
    data = os.read(0, 4096)
    note(data)
    os.write(1, b"\r\x1b[K> " if data == b"\r" else data)
"""


def test_a_message_to_a_waiting_agent_waits_for_the_answer(tmp_path: Path) -> None:
    """M / m to an agent whose prompt is pending: the prompt stays pending and unanswered (the
    "p" of "please" is no answer), the message is held, and goes once the prompt is answered."""
    from agentdeck.core.oversight.approvals import ALLOW
    from agentdeck.core.oversight.outbox import HELD
    from tests.conftest import wait

    repo = make_repo(tmp_path)
    agent, log = tmp_path / "asks.py", tmp_path / "asks.jsonl"
    agent.write_text(ASKS_FIRST)
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands: {{asks: "{sys.executable} {agent} {log}"}}
agents: [{{name: ops, agent: asks, branch: feat/ops}}]
""")
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    deck = Deck.open(ctx, fleet)
    try:
        deck.start_all()
        wait(lambda: deck.queue.pending(), "the prompt in the queue")
        entry = deck.queue.pending()[0]
        assert deck.message("ops", "please keep going") == HELD
        assert deck.outbox.held("ops") == 1
        assert [e.id for e in deck.queue.pending()] == [entry.id]  # still waiting
        assert reads(log) == []  # nothing typed into the menu
        deck.queue.answer(entry.id, ALLOW)
        wait(lambda: reads(log)[-1:] == ["\r"] and "please keep going" in reads(log),
             "the held message to be typed after the answer")
        assert reads(log) == ["y\r", "please keep going", "\r"]
        assert deck.outbox.held("ops") == 0
        [line] = [json.loads(x) for x in deck.audit_path.read_text().splitlines()]
        assert (line["decision"], line["by"]) == ("allow", "key")
    finally:
        deck.close()


def test_every_kind_of_shell_runs_a_message_line_by_line(tmp_path: Path) -> None:
    """One definition of a shell (core/launch.is_shell) for messages as for tasks and review
    comments: a shell by its name (fish) or by the program its command starts (`myshell:
    /bin/sh`) runs each line of a message as a command of its own."""
    from tests.conftest import wait

    assert delivery("fish", "ls\npwd", False) == delivery("shell", "ls\npwd", False)
    repo = make_repo(tmp_path)
    write_fleet(repo, """version: 1
worktrees: ../wt-{name}
commands: {myshell: /bin/sh, wrapped: "env LC_ALL=C /bin/sh"}
agents: [{name: one, agent: myshell, branch: feat/one}, {name: two, agent: wrapped}]
""")
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert delivery("myshell", "ls\npwd", False, fleet) == delivery("shell", "ls\npwd", False)
    assert Engine(ctx, fleet).up().exit_code == 0
    deck = Deck.open(ctx, fleet)
    try:
        deck.start_all()
        for name in ("one", "two"):
            worktree = tmp_path / f"wt-{name}"
            deck.message(name, "echo one > a.txt\necho two > b.txt")
            wait(lambda w=worktree: (w / "b.txt").exists() and (w / "b.txt").read_text(),
                 f"{name}'s second command")
            assert (worktree / "a.txt").read_text() == "one\n"  # two commands, not one
            assert (worktree / "b.txt").read_text() == "two\n"
    finally:
        deck.close()


def test_a_task_is_never_typed_into_a_shell(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A shell runs what is typed into it: its task stays in its brief, never typed in; an
    agent CLI of the same fleet gets its task typed as its first message."""
    repo = make_repo(tmp_path)
    agent = tmp_path / "ink_like.py"
    agent.write_text(INK_LIKE)
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands:
  plain: "{sys.executable} {agent} {tmp_path / 'plain.jsonl'} plain"
  myshell: "/bin/sh"
agents:
  - {{name: sh1, agent: shell, branch: feat/sh1, task: "touch ran-as-a-command"}}
  - {{name: sh2, agent: myshell, branch: feat/sh2, task: "touch ran-as-a-command"}}
  - {{name: cli, agent: plain, branch: feat/cli, task: "do the thing"}}
""")
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    typed: list[str] = []
    monkeypatch.setattr(Deck, "_type_task", lambda self, name, task: typed.append(name))
    deck = Deck.open(ctx, fleet)
    try:
        deck.start_all({})
        assert typed == ["cli"], typed
    finally:
        deck.close()


async def test_keys_typed_before_the_first_frame_reach_the_agent(inky, monkeypatch) -> None:
    """The panes read their screens once the first frame is drawn; a key typed into a pane
    before that (a busy machine, a fast typist) still reaches the agent, none is dropped."""
    deck, logs = inky
    # never live (the panes go live right after the first frame, or once its footer settled)
    monkeypatch.setattr(DashboardScreen, "_show_panes", lambda self: None)
    monkeypatch.setattr(DashboardScreen, "_after_first_frame", lambda self: None)
    app = AgentdeckApp(deck)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: any(i.name == "plain" and i.process == "running"
                                       for i in deck.host.sessions()))
        app.dashboard.action_enter_pane("plain")
        pane = app.query_one("#pane-plain", TerminalPane)
        await until(pilot, lambda: app.focused is pane)
        assert not pane.live
        await pilot.press("x", "up")
        await until(pilot, lambda: "x\x1b[A" in "".join(reads(logs["plain"])))


async def test_keys_work_from_where_the_user_is(inky) -> None:
    """] and [ pick agents and PageUp scrolls the selected pane with the agent table focused;
    typing into a pane, the same keys go to the agent."""
    deck, logs = inky
    app = AgentdeckApp(deck)
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: all(i.process == "running" for i in deck.host.sessions())
                    and len(deck.host.sessions()) == 3)
        names = list(app.dashboard.rows)
        app.query_one(AgentList).focus()
        first = app.dashboard.selected
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: app.dashboard.selected == names[(names.index(first) + 1) % 3])
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: app.dashboard.selected == first)
        app.dashboard.action_enter_pane("plain")
        await until(pilot, lambda: app.focused is app.query_one("#pane-plain", TerminalPane))
        await pilot.press("pageup", "right_square_bracket")
        await until(pilot, lambda: "\x1b[5~" in reads(logs["plain"])
                    and "]" in reads(logs["plain"]))
        assert app.dashboard.selected == "plain"  # the ] was the agent's
        # back on the dashboard, PageUp scrolls the selected pane (the table does not take it)
        deck.host.write("plain", b"".join(b"line %d\r\n" % n for n in range(200)))
        await until(pilot, lambda: "line 199" in "\n".join(deck.host.snapshot("plain")))
        await pilot.press("ctrl+right_square_bracket")
        await until(pilot, lambda: isinstance(app.focused, AgentList))
        pane = app.query_one("#pane-plain", TerminalPane)
        await pilot.press("pageup")
        await until(pilot, lambda: pane.back.scrolled > 0)
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown", "pagedown")
        await until(pilot, lambda: pane.back.scrolled == 0)
