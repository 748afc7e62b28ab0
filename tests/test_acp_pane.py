"""An ACP agent's pane: its conversation laid out by agentdeck (snapshots at 80x24 and 200x50),
and in the dashboard with a real scripted ACP agent (tests/acp_agent.py): its pane is a
ConversationPane, its task the first prompt, its requests answered from the queue with `y` and
`n`, `i` typing a prompt that the agent answers.

A correct screenshot, at 80x24 and at 200x50 alike, shows one bordered pane titled `coder`
holding the whole conversation laid out at the pane's width, from its top: the prompt
`› Add notes.`, the agent's message, a green completed card `✓ echo ran` (subtitle
`execute · completed`) with the command's output `ran`, the agent's second message, a yellow
pending card `· Write notes.txt` (`edit · pending`) with `notes.txt  +2 -1` and its diff
(`-old line` red, `+world` `+again` green), an `agentdeck:` note in yellow and a magenta `plan`
box with `✓ run a command` and `▸ write notes`; the cards span the pane's width."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult

from agentdeck.core.agents.acp.conversation import Conversation, Diff, PlanStep
from agentdeck.core.agents.sessions import TerminalView
from agentdeck.core.screen.terminal import make_emulator
from agentdeck.ui.widgets.conversation_pane import ConversationPane
from tests.conftest import requires, until


def talk() -> Conversation:
    conv = Conversation()
    conv.user("Add notes.")
    conv.agent("I will run a command first, then write the notes file.")
    conv.tool("call-1", "echo ran", "execute", "completed", terminals=["t1"])
    conv.terminal_ended("t1", "ran\n")
    conv.agent("The command ran. Now the notes.")
    conv.tool("call-2", "Write notes.txt", "edit", "pending",
              diffs=[Diff("notes.txt", "hello\nold line\n", "hello\nworld\nagain\n")])
    conv.note("refused: /etc/passwd is outside the agent's worktree")
    conv.set_plan([PlanStep("run a command", "completed"), PlanStep("write notes", "in_progress")])
    return conv


class StillHost:
    """The one thing a ConversationPane reads of its host: the conversation and its log's
    version (a still one here)."""

    def __init__(self) -> None:
        self.view = TerminalView(make_emulator(80, 24, 100))
        self.sent: list[bytes] = []

    def terminal(self, name: str) -> TerminalView:
        return self.view

    def conversation(self, name: str) -> dict[str, Any]:
        return talk().to_wire()


class PaneApp(App[None]):
    def compose(self) -> ComposeResult:
        host: Any = StillHost()
        yield ConversationPane(host, "coder", "ctrl+right_square_bracket",
                               lambda _agent, data: host.sent.append(data), id="pane")


def laid_out(app: App[None]) -> bool:
    pane = app.query_one(ConversationPane)
    return pane._page is not None and pane._seen == pane._page.version and (
        pane._wanted[1:] == (pane.content_size.width, pane.content_size.height))


@pytest.mark.parametrize("size", [(80, 24), (200, 50)], ids=["80x24", "200x50"])
def test_conversation_pane_snapshot(snap_compare: Any, size: tuple[int, int]) -> None:
    app = PaneApp()

    async def settle(pilot: Any) -> None:
        await until(pilot, lambda: laid_out(app), timeout=20)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=settle)


async def test_the_page_is_laid_out_at_the_panes_width_and_typing_shows() -> None:
    app = PaneApp()
    async with app.run_test(size=(60, 40)) as pilot:
        await until(pilot, lambda: laid_out(app))
        pane = app.query_one(ConversationPane)
        assert pane._page is not None
        with pane._page as emulator:
            assert emulator.cols == pane.content_size.width
            text = "\n".join(emulator.lines())
        assert "✓ echo ran" in text and "notes.txt  +2 -1" in text and "▸ write notes" in text
        pane.start_typing()
        await pilot.press("h", "i")
        await until(pilot, lambda: laid_out(app) and pane._page is not None
                    and any("› hi" in line for line in pane._page.emulator.lines()))
        await pilot.press("enter")
        host: Any = pane.host
        assert b"".join(host.sent) == b"hi\r"
        assert pane.typing_text == ""


ACP_FLEET = """\
version: 1
base: origin/main
worktrees: ../{{repo}}-{{name}}
commands:
  scripted: "{py} {agent}"
defaults: {{agent: scripted, channel: acp, ports: {{start: 27411}}}}
agents:
  - {{name: coder, branch: feat/coder, task: work}}
"""


def acp_deck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fleet: str) -> Any:
    """A repository whose fleet file is `fleet` (ACP_FLEET's fields filled in: the scripted
    ACP agent of tests/acp_agent.py), `up` run, its deck open."""
    from agentdeck.core.agents.acp import sdk_missing
    from agentdeck.core.deck import Deck
    from agentdeck.core.engine.engine import Engine
    from agentdeck.core.fleet.schema import load_fleet
    from agentdeck.core.git.repo import open_repo
    from tests.conftest import make_repo, write_fleet

    requires("agent-client-protocol", sdk_missing())
    repo = make_repo(tmp_path)
    agent = Path(__file__).resolve().parent / "acp_agent.py"
    write_fleet(repo, fleet.format(py=sys.executable, agent=agent))
    monkeypatch.chdir(repo)
    ctx, loaded = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, loaded).up().exit_code == 0
    return Deck.open(ctx, loaded)


async def test_an_acp_agent_in_the_dashboard(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from agentdeck.ui.app import AgentdeckApp

    deck = acp_deck(tmp_path, monkeypatch, ACP_FLEET)
    try:
        app = AgentdeckApp(deck)
        async with app.run_test(size=(160, 45)) as pilot:
            pane = app.query_one("#pane-coder", ConversationPane)
            await until(pilot, lambda: deck.queue.entry_for("coder") is not None, 30)
            entry = deck.queue.entry_for("coder")
            assert entry is not None and (entry.kind, entry.summary) == (
                "bash", "echo ran > ran.txt")
            table = app.query_one("#approval-table")
            table.focus()
            await pilot.press("y")
            await until(pilot, lambda: (e := deck.queue.entry_for("coder")) is not None
                        and e.kind == "write", 30)
            await pilot.press("n")
            await until(pilot, lambda: deck.host.info("coder").state == "idle", 30)
            worktree = Path(next(r.worktree for r in deck.records if r.name == "coder"))
            assert (worktree / "ran.txt").exists() and not (worktree / "notes.txt").exists()
            await until(pilot, lambda: pane._page is not None and any(
                "Done." in line for line in pane._page.emulator.lines()), 30)
            pane.start_typing()
            await pilot.press(*"hello", "enter")
            await until(pilot, lambda: pane._page is not None and any(
                "echo: hello" in line for line in pane._page.emulator.lines()), 30)
    finally:
        deck.close()


async def test_the_spawn_dialog_offers_the_channel(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from textual.widgets import Button, Input, Label, Select

    from agentdeck.core.fleet.registry import Registry
    from agentdeck.core.fleet.schema import load_fleet
    from agentdeck.ui.app import AgentdeckApp
    from agentdeck.ui.screens.spawn import SpawnDialog

    deck = acp_deck(tmp_path, monkeypatch, ACP_FLEET.replace("channel: acp, ", "").replace(
        "task: work", "task: hi"))
    try:
        app = AgentdeckApp(deck)
        async with app.run_test(size=(160, 50)) as pilot:
            assert not app.query("#pane-coder ConversationPane")  # a pty agent: a terminal
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, SpawnDialog))
            dialog = app.screen
            dialog.query_one("#name", Input).value = "talker"
            dialog.query_one("#agent", Select).value = "shell"
            dialog.query_one("#channel", Select).value = "acp"
            await until(pilot, lambda: "no ACP mode" in str(
                dialog.query_one("#channel-check", Label).render()))
            assert dialog.query_one("#create", Button).disabled
            dialog.query_one("#agent", Select).value = "scripted"
            await until(pilot, lambda: not dialog.query_one("#create", Button).disabled)
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, SpawnDialog), 60)
            await until(pilot, lambda: bool(app.query("#pane-talker")))
            assert isinstance(app.query_one("#pane-talker"), ConversationPane)
            await until(pilot, lambda: "talker" in {i.name for i in deck.host.sessions()}
                        and deck.host.info("talker").state == "idle", 30)
        assert Registry(deck.ctx.state_dir).load().agents["talker"].channel == "acp"
        assert load_fleet(deck.ctx.main_root / "agentdeck.yaml").agent("talker").channel == "acp"
    finally:
        deck.close()


async def test_with_no_conversation_kept_the_pane_shows_the_agents_log() -> None:
    """A session the session host restored from its transcript (its process died with the
    previous one) has its log and no conversation: the pane shows the log."""

    class LogOnly(StillHost):
        def conversation(self, name: str) -> Any:
            return None

    class LogApp(App[None]):
        def compose(self) -> ComposeResult:
            host: Any = LogOnly()
            with host.view as emulator:
                emulator.feed(b"\r\n> an old prompt\r\nthe agent's last words\r\n")
            host.view.bump()
            yield ConversationPane(host, "coder", "ctrl+right_square_bracket",
                                   lambda _agent, _data: None, id="pane")

    app = LogApp()
    async with app.run_test(size=(60, 20)) as pilot:
        pane = app.query_one(ConversationPane)
        await until(pilot, lambda: pane._plain and pane._drawn is pane.host.view)
