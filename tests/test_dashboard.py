"""The real dashboard on the demo fleet, driven with Pilot: prompts from the scripted Claude,
Codex and Aider look-alikes land in the queue, keys answer them, each agent receives exactly the
right key once, the audit log records it, and a stale answer is refused."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from agentdeck.core.deck import Deck
from agentdeck.core.engine.engine import Engine
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.demo import make_demo_repo
from agentdeck.ui.app import AgentdeckApp
from agentdeck.ui.host_messages import AgentsRead
from agentdeck.ui.widgets.terminal_pane import TerminalPane


@pytest.fixture
def demo_deck(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    log = tmp_path / "answers.jsonl"
    monkeypatch.setenv("AGENTDECK_DEMO_SPEED", "0.02")
    monkeypatch.setenv("AGENTDECK_DEMO_LOG", str(log))
    clone = make_demo_repo(tmp_path)
    ctx, fleet = open_repo(clone), load_fleet(clone / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    deck = Deck.open(ctx, fleet)
    yield deck, log
    deck.close()


async def wait_until(pilot, condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            deck = pilot.app.deck
            queue = [(e.agent, e.summary) for e in deck.queue.pending()]
            sessions = [(i.name, i.state, i.error) for i in deck.host.sessions()]
            raise AssertionError(f"condition not met in time: queue {queue}, {sessions}")
        await pilot.pause(0.05)


def answers(log: Path) -> list[dict[str, str]]:
    return [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []


async def test_prompts_are_queued_and_answered_with_one_key(demo_deck) -> None:
    deck, log = demo_deck
    app = AgentdeckApp(deck)
    async with app.run_test(size=(180, 50)) as pilot:
        queue = deck.queue
        await wait_until(pilot, lambda: {e.agent for e in queue.pending()} == {
            "auth", "payments", "search"})
        entries = {e.agent: e for e in queue.pending()}
        assert [(entries[a].kind, entries[a].summary) for a in ("auth", "payments", "search")] \
            == [("bash", "git log --oneline -3")] * 3
        await wait_until(pilot, lambda: "3 waiting" in app.title)
        pane = app.query_one("#pane-auth", TerminalPane)
        assert pane.has_class("-waiting")

        # select auth's entry in the queue and allow it with `y`
        table = app.query_one("#approval-table")
        table.focus()
        table.move_cursor(row=table.get_row_index(str(entries["auth"].id)))
        await pilot.press("y")
        await wait_until(pilot, lambda: any(a["agent"] == "auth" for a in answers(log)))
        await wait_until(pilot, lambda: (e := queue.entry_for("auth")) is not None
                         and e.kind == "write")
        assert [a["key"] for a in answers(log) if a["agent"] == "auth"] == ["1"]
        assert queue.entry_for("auth").summary == "src/auth/module_1.py"

        # deny payments (Codex draws shortcut letters: Esc denies)
        table.move_cursor(row=table.get_row_index(str(entries["payments"].id)))
        await pilot.press("n")
        await wait_until(pilot, lambda: any(a["agent"] == "payments" for a in answers(log)))
        assert [a["key"] for a in answers(log) if a["agent"] == "payments"] == ["\x1b"]

        # answer search in its own pane: type `n`, Enter; the queue entry goes stale
        stale = entries["search"]
        app.dashboard.action_enter_pane("search")
        await pilot.pause()
        search_pane = app.query_one("#pane-search", TerminalPane)
        assert app.focused is search_pane
        # typing mode is unmistakable: the status line says where the keys go, and how back
        assert "typing into search" in str(app.query_one("#status").render())
        _, y = search_pane._cursor
        line = search_pane.render_line(y)
        cursor_cells = [seg for seg in line if seg.style and seg.style.reverse]
        assert len(cursor_cells) == 1 and len(cursor_cells[0].text) == 1
        await pilot.press("n", "enter")
        await wait_until(pilot, lambda: any(a["agent"] == "search" for a in answers(log)))
        await pilot.press("ctrl+right_square_bracket")  # the release key
        assert not isinstance(app.focused, TerminalPane)
        app.dashboard.answer(stale.id, "allow")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert any("no longer" in n.message or "already answered" in n.message
                   for n in app._notifications)
        assert [a["key"] for a in answers(log) if a["agent"] == "search"] == ["n\r"]

        audit = [json.loads(x) for x in deck.audit_path.read_text().splitlines()]
        assert [(x["agent"], x["kind"], x["decision"], x["by"], x["via"]) for x in audit] == [
            ("auth", "bash", "allow", "key", "screen"),
            ("payments", "bash", "deny", "key", "screen"),
            ("search", "bash", "deny", "user", "pane")]  # typed in its pane: "n", Enter
        # auth went on: its file exists in its own worktree only
        await wait_until(pilot, lambda: queue.entry_for("auth") is not None)


async def test_tab_and_enter_never_put_the_keyboard_in_a_pane(demo_deck) -> None:
    deck, log = demo_deck
    app = AgentdeckApp(deck)
    async with app.run_test(size=(180, 50)) as pilot:
        await wait_until(pilot, lambda: deck.queue.pending())
        for _ in range(6):
            await pilot.press("tab")
            assert not isinstance(app.focused, TerminalPane)
        table = app.query_one("#approval-table")
        table.focus()
        entry = deck.queue.pending()[0]
        await pilot.press("enter")  # shows that agent; the keyboard stays here
        assert not isinstance(app.focused, TerminalPane)
        assert app.dashboard.selected_agent == entry.agent
        assert [e.id for e in deck.queue.pending()][:1] == [entry.id]
        assert not answers(log)  # nothing reached any agent


async def test_an_agent_that_cannot_start_is_shown_and_others_run(demo_deck) -> None:
    deck, _ = demo_deck
    deck.fleet.commands["codex"] = "no-such-codex-binary --model {model}"
    deck.fleet.commands["aider"] = "aider --model {modle}"  # a typo in the fleet file
    app = AgentdeckApp(deck)
    async with app.run_test(size=(180, 50)) as pilot:
        await wait_until(pilot, lambda: deck.host.info("payments").state == "failed"
                         if "payments" in {i.name for i in deck.host.sessions()} else False)
        await wait_until(pilot, lambda: deck.queue.entry_for("auth") is not None)
        assert "not found on PATH" in "".join(deck.host.snapshot("payments"))
        # the dashboard hears it through its message queue: it shows it soon after
        await wait_until(pilot, lambda: app.dashboard.rows["payments"].state == "failed")
        assert app.query_one("#pane-payments", TerminalPane).has_class("-failed")
        await wait_until(pilot, lambda: app.dashboard.rows["search"].state == "failed")
        assert "commands.aider" in "".join(deck.host.snapshot("search"))
        # the reason stays in the detail line under the table while the agent is selected
        from agentdeck.ui.widgets.agent_list import AgentDetail

        app.dashboard.select("payments")
        await pilot.pause()
        assert "not found on PATH" in str(app.query_one(AgentDetail).render())


async def test_resizing_the_dashboard_keeps_every_prompt_and_every_agent_size(demo_deck) -> None:
    """Invariant 1 and 2: a terminal resize (even to 60x20) never reaches an agent below its
    home size, never drops or answers a pending prompt, and leaves no audit line."""
    deck, log = demo_deck
    app = AgentdeckApp(deck)
    async with app.run_test(size=(200, 50)) as pilot:
        await wait_until(pilot, lambda: len(deck.queue.pending()) == 3)
        before = [(e.id, e.created, e.kind, e.summary) for e in deck.queue.pending()]
        for size in ((100, 30), (80, 24), (60, 20), (120, 40), (300, 80), (230, 60)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            assert [(e.id, e.created, e.kind, e.summary)
                    for e in deck.queue.pending()] == before
        await wait_until(pilot, lambda: app.dashboard.fit.home_timer is None)
        await app.workers.wait_for_complete()
        home = app.dashboard.fit.home_size()
        # the last size's zoom area
        assert app.dashboard.fit.home == home and home[0] > 140 and home[1] > 45
        for name in ("auth", "payments", "search"):
            with deck.host.terminal(name) as emulator:
                assert (emulator.cols, emulator.rows) == home, name
        # the agents redrew at the new size: still the same entries, same ages
        await wait_until(pilot, lambda: all(deck.host.info(n).detection.prompt is not None
                                            for n in ("auth", "payments", "search")))
        assert [(e.id, e.created, e.kind, e.summary) for e in deck.queue.pending()] == before
        assert not deck.audit_path.exists() or deck.audit_path.read_text() == ""
        assert not answers(log)


async def test_the_dashboard_draws_its_panes_with_no_colour(demo_deck, monkeypatch) -> None:
    """NO_COLOR=1: Textual's monochrome filter runs over every pane row (a cell without a style
    of its own once crashed it)."""
    monkeypatch.setenv("NO_COLOR", "1")
    deck, _ = demo_deck
    app = AgentdeckApp(deck)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: len(deck.queue.pending()) == 3)
        panes = list(app.query(TerminalPane))
        await wait_until(pilot, lambda: all(p._seen == deck.host.terminal(p.agent).version
                                            for p in panes))
        await pilot.press("i")  # the cursor drawn too
        await pilot.pause()
        assert app.is_running


async def test_quitting_asks_first_when_the_agents_would_stop_with_the_dashboard(
        demo_deck) -> None:
    from agentdeck.ui.screens.confirm import Confirm

    deck, _ = demo_deck
    app = AgentdeckApp(deck)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_until(pilot, lambda: len(deck.queue.pending()) == 3)
        await pilot.press("q")
        await wait_until(pilot, lambda: isinstance(app.screen, Confirm))
        assert "auth" in str(app.screen.detail) and "stop when it closes" in app.screen.detail
        await pilot.press("n")  # stay: nothing stopped
        await wait_until(pilot, lambda: not isinstance(app.screen, Confirm))
        assert all(i.process == "running" for i in deck.host.sessions())
        await pilot.press("q", "y")
        await wait_until(pilot, lambda: not app.is_running)


async def test_an_older_reading_of_the_registry_never_undoes_a_newer_one(
        demo_deck, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two threads read the registry at once (the session host's push, the 1 s stamp look): the
    reading that started first may arrive last. Applied, it brought back an agent `rm` had just
    removed, and nothing came later to correct it (seen as test_agents_everywhere failing)."""
    deck, _ = demo_deck
    app = AgentdeckApp(deck)
    async with app.run_test(size=(180, 50)) as pilot:
        everyone = {r.name for r in deck.records}
        await wait_until(pilot, lambda: set(app.dashboard.panes) == everyone)
        before = list(deck.records)
        after = [r for r in before if r.name != "search"]
        slow_started, release = threading.Event(), threading.Event()

        def read_records() -> list:
            if threading.current_thread().name == "older":
                slow_started.set()
                assert release.wait(20)
                return before
            return after

        monkeypatch.setattr(deck, "read_records", read_records)
        older = threading.Thread(target=app.dashboard.agents._read_agents, name="older")
        older.start()
        assert await asyncio.to_thread(slow_started.wait, 20)
        newer = threading.Thread(target=app.dashboard.agents._read_agents, name="newer")
        newer.start()
        newer.join()
        await wait_until(pilot, lambda: set(app.dashboard.panes) == everyone - {"search"})
        release.set()
        await asyncio.to_thread(older.join)
        handled = asyncio.Event()
        app.dashboard.call_later(handled.set)  # after the older reading, in the same queue
        await asyncio.wait_for(handled.wait(), 20)
        assert set(app.dashboard.panes) == everyone - {"search"}

        # both queued at once, the newer first: Textual may drop a queued message for the one
        # after it (can_replace) — never the newer reading for the older
        newest = next(app.dashboard.agents._readings)
        fewer = [r for r in after if r.name != "payments"]
        app.dashboard.post_message(AgentsRead(fewer, newest + 1))
        app.dashboard.post_message(AgentsRead(before, newest))
        handled = asyncio.Event()
        app.dashboard.call_later(handled.set)
        await asyncio.wait_for(handled.wait(), 20)
        assert set(app.dashboard.panes) == everyone - {"search", "payments"}


async def test_a_change_while_the_dashboard_opens_shows_without_a_later_one(
        demo_deck, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agents shown are read when the dashboard opens, the registry watched once its first
    frame is drawn: an agent removed in between (an `rm` in another terminal) went on showing
    until some later change (seen as test_agents_everywhere's dashboard keeping l2)."""
    from agentdeck.core.fleet.registry import Registry
    from agentdeck.ui.agent_actions import AgentActions

    deck, _ = demo_deck
    watch = AgentActions.watch_registry

    def removed_first(self: AgentActions) -> None:
        with Registry(deck.ctx.state_dir).transaction() as data:
            data.agents.pop("search")
        watch(self)

    monkeypatch.setattr(AgentActions, "watch_registry", removed_first)
    app = AgentdeckApp(deck)
    async with app.run_test(size=(180, 50)) as pilot:
        everyone = {r.name for r in deck.records}
        assert "search" in everyone
        await wait_until(pilot, lambda: set(app.dashboard.panes) == everyone - {"search"})
