"""What a pane shows of its agent's screen, at every window size: the rows holding content (the
prompt, the cursor) with what it hides said in its border, the agent's current size in that
label, and — where one pane is shown at a time — the agent whose request the queue highlights,
so a prompt is never answered unseen (issue 30, item 5)."""

from __future__ import annotations

import pytest

from agentdeck.core.agents.sessions import SessionHost
from agentdeck.ui.app import AgentdeckApp
from agentdeck.ui.viewport import viewport_top
from agentdeck.ui.widgets.terminal_pane import TerminalPane
from tests.conftest import until
from tests.test_dashboard import demo_deck  # noqa: F401  (the fixture)
from tests.test_snapshots import still_deck  # noqa: F401  (the fixture)

BLANK = ""


def screen(rows: int, drawn: dict[int, str]) -> list[str]:
    return [drawn.get(y, BLANK) for y in range(rows)]


def test_a_full_screen_shows_its_bottom_rows() -> None:
    lines = screen(75, {y: f"line {y}" for y in range(75)})
    assert viewport_top(lines, 20) == 55
    assert viewport_top(lines, 20, cursor=70) == 55  # the input box, its footer under it
    assert viewport_top(lines, 80) == 0  # a pane taller than the screen shows it whole


def test_a_dialog_at_the_top_of_a_tall_empty_screen_is_shown_not_its_blank_bottom() -> None:
    dialog = {0: "Trust this folder?", 2: "› 1. Trust and continue", 3: "  2. Back",
              5: "enter continue · esc back"}
    lines = screen(75, dialog)
    assert viewport_top(lines, 20) == 0
    # a cursor parked on the empty bottom row says nothing about where the content is
    assert viewport_top(lines, 20, cursor=74) == 0
    # nor does a one-line footer at the bottom, far below it
    assert viewport_top(screen(75, {**dialog, 74: "? for shortcuts"}), 20) == 0


def test_a_cursor_next_to_text_keeps_its_part_in_view() -> None:
    # a banner at the top, then (after a cleared conversation) an input box at the bottom
    banner = {y: f"banner {y}" for y in range(10)}
    box = {68: "╭────╮", 69: "│ >  │", 70: "╰────╯", 71: "? for shortcuts"}
    lines = screen(75, {**banner, **box})
    assert viewport_top(lines, 20, cursor=69) == 52
    assert viewport_top(lines, 20) == 52  # the last part is larger than a lone line or two
    # a shell: output, then its prompt with the cursor on the next row
    shell = screen(75, {y: f"out {y}" for y in range(30)})
    assert viewport_top(shell, 20, cursor=30) == 11
    assert viewport_top(screen(75, {}), 20) == 0 and viewport_top(screen(75, {}), 20, 60) == 41


def shown_text(pane: TerminalPane) -> str:
    """What the pane draws now, row by row."""
    return "\n".join(pane.render_line(y).text for y in range(pane.content_size.height))


def displayed(app: AgentdeckApp) -> list[TerminalPane]:
    return [p for p in app.query(TerminalPane) if p.display and p.region.height]


def size_of(host: SessionHost, name: str) -> tuple[int, int] | None:
    """The agent's terminal size now (None: its session is not started yet)."""
    try:
        view = host.terminal(name)
    except KeyError:
        return None
    with view as emulator:
        return emulator.cols, emulator.rows


QUESTIONS = {"auth": "Do you want to proceed?", "payments": "Would you like to run",
             "search": "Run shell command?"}


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (300, 80)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_every_waiting_prompt_is_in_view_or_is_the_highlighted_entrys_pane(
        demo_deck, size) -> None:  # noqa: F811
    deck, _ = demo_deck
    app = AgentdeckApp(deck)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: {e.agent for e in deck.queue.pending()} == set(QUESTIONS))
        await until(pilot, lambda: app.dashboard.fit.home is not None and all(
            size_of(deck.host, n) == app.dashboard.fit.home for n in QUESTIONS))

        def in_view(name: str) -> bool:
            pane = app.dashboard.panes[name]
            text = shown_text(pane)
            return pane in displayed(app) and QUESTIONS[name] in text and (
                "git log --oneline -3" in text)

        def labels_true() -> bool:  # a pane showing part of its agent's screen says its size
            for pane in displayed(app):
                cols, rows = size_of(deck.host, pane.agent) or (0, 0)
                cut = (pane.content_size.width < cols or pane.content_size.height < rows)
                if cut and not str(pane.border_subtitle).startswith(f"{cols}×{rows}: "):
                    return False
            return True

        if size[0] < 110:  # one pane at a time: the highlighted request's agent
            for step in range(len(QUESTIONS)):
                highlighted = app.dashboard.approvals_list.selected
                assert highlighted is not None
                await until(pilot, lambda h=highlighted: in_view(h.agent)
                            and [p.agent for p in displayed(app)] == [h.agent])
                await until(pilot, labels_true)
                if step < len(QUESTIONS) - 1:  # the next request (the arrow keys move
                    await pilot.press("down")      # through the queue): its agent is shown
                    await until(pilot, lambda h=highlighted:
                                app.dashboard.approvals_list.selected != h)
            # choosing a waiting agent (`[`: the one before, in the sidebar's order) highlights
            # its request (the queue's order is the order the prompts came in: not fixed)
            await until(pilot, lambda: app.dashboard.selected
                        == app.dashboard.approvals_list.selected.agent)
            names = list(app.dashboard.rows)
            before = names[(names.index(app.dashboard.selected) - 1) % len(names)]
            await pilot.press("left_square_bracket")
            await until(pilot, lambda: app.dashboard.approvals_list.selected is not None
                        and app.dashboard.approvals_list.selected.agent
                        == app.dashboard.selected == before)
        else:
            await until(pilot, lambda: all(in_view(name) for name in QUESTIONS))
            await until(pilot, labels_true)


async def test_the_size_label_follows_an_agent_resized_while_it_prints_nothing(
        still_deck) -> None:  # noqa: F811
    """The agents here wait in input(): a resize redraws nothing, yet their panes' labels say
    their new size, and what each hides below."""
    app = AgentdeckApp(still_deck)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.dashboard.fit.home is not None and all(
            size_of(still_deck.host, n) == app.dashboard.fit.home for n in app.dashboard.rows))
        pane = app.dashboard.panes["docs"]
        await until(pilot, lambda: str(pane.border_subtitle).startswith(
            "{}×{}: ↓".format(*app.dashboard.fit.home)))
        await pilot.resize_terminal(300, 80)
        fit = app.dashboard.fit
        await until(pilot, lambda: fit.home == fit.home_size() and fit.home[0] > 150)
        await until(pilot, lambda: str(pane.border_subtitle).startswith(
            "{}×{}: ↓".format(*app.dashboard.fit.home)))
        assert "all done" in shown_text(pane)  # its text, at the top, still in view


async def test_a_pane_not_shown_reads_nothing_until_it_shows(still_deck) -> None:  # noqa: F811
    """At 80x24 one pane shows (the waiting agent's): another agent's output is not read into
    its hidden pane; choosing that agent shows it with all it printed meanwhile."""
    app = AgentdeckApp(still_deck)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: [p.agent for p in displayed(app)] == ["tests"])
        pane = app.dashboard.panes["docs"]
        await until(pilot, lambda: "all done" in "\n".join(still_deck.host.snapshot("docs")))
        seen = pane._seen
        still_deck.host.write("docs", b"typed-while-hidden\r")
        await until(pilot, lambda: pane._stale)  # its output came; the pane left it unread
        assert pane._seen == seen and "typed-while-hidden" not in shown_text(pane)
        app.dashboard.select("docs")
        await until(pilot, lambda: [p.agent for p in displayed(app)] == ["docs"]
                    and "typed-while-hidden" in shown_text(pane))


async def test_a_panes_rows_are_drawn_as_textual_draws_them_in_every_state(
        still_deck) -> None:  # noqa: F811
    """The pane hands the compositor its content rows framed by the border's edge cells itself
    (Textual's line pipeline rebuilt every row around them: most of a streaming dashboard's
    time): each row is what Textual's own drawing gives, segment for segment, plain, selected,
    waiting, typed into and after a theme change."""
    from textual.geometry import Region
    from textual.widget import Widget

    app = AgentdeckApp(still_deck)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.dashboard.panes["docs"]
        await until(pilot, lambda: "all done" in shown_text(pane))

        def same() -> bool:
            whole = Region(0, 0, *pane.outer_size)
            ours = pane.render_lines(whole)
            textual = Widget.render_lines(pane, whole)
            assert pane._frame._edges is not None, "drawn through Textual's pipeline"
            return [list(s) for s in ours] == [list(s) for s in textual]

        def check(what: str) -> None:
            assert same(), what

        check("plain")
        pane.border_subtitle = "a new label"
        await pilot.pause()
        check("its label changed")
        for state in ("-selected", "-waiting"):
            pane.add_class(state)
            await pilot.pause()
            check(state)
            pane.remove_class(state)
            await pilot.pause()
            check(f"{state} removed")
        pane.start_typing()
        await until(pilot, lambda: pane.has_focus)
        check("typed into")
        pane._release()
        await until(pilot, lambda: not pane.has_focus)
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause()
        check("another theme")
        # the left edge follows the border's kind (the dashboard sets -waiting from the agent's
        # state as it changes: each row is read in the same turn as the style it is checked on)
        def edge() -> str:
            return pane.render_lines(Region(0, 1, pane.outer_size.width, 1))[0].text[0]

        pane.add_class("-waiting")
        await until(pilot, lambda: pane.styles.border_left[0] == "heavy")
        assert edge() == "┃"
        pane.remove_class("-waiting")
        await until(pilot, lambda: pane.styles.border_left[0] == "round")
        assert edge() == "│"
