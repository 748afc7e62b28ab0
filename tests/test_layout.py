"""The dashboard at every window size, its help, its themes as files and the spawn dialog's
refusals: what a user sees and can do."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdeck.core.errors import UsageError
from agentdeck.ui import layout
from agentdeck.ui.app import AgentdeckApp
from agentdeck.ui.screens.help import HelpScreen
from agentdeck.ui.screens.spawn import SpawnDialog
from agentdeck.ui.themes import load_themes
from agentdeck.ui.widgets.terminal_pane import TerminalPane
from tests.conftest import until
from tests.test_snapshots import still_deck  # noqa: F401  (the fixture)


def test_modes_and_agent_sizes_follow_the_window_not_the_queue() -> None:
    assert [layout.mode_for(w) for w in (40, 80, 100, 120, 160, 200, 300)] == [
        "-phone", "-narrow", "-narrow", "-medium", "-wide", "-wide", "-huge"]
    floor = (100, 30)
    assert layout.agent_size((80, 24), floor) == (100, 30)  # never below the floor
    # between 160 and 240 columns the sidebar grows with the window (the radar gets room)
    assert [layout.sidebar_width(w) for w in (80, 120, 160, 200, 239, 240)] == [
        None, 40, 58, 71, 84, 100]
    assert layout.agent_size((200, 50), floor) == (200 - 71 - 1 - 2, 50 - 3 - 2)
    assert layout.agent_size((300, 80), floor) == (300 - 100 - 1 - 2, 80 - 3 - 2)


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40), (200, 50)])
async def test_every_size_shows_the_queue_the_count_and_help(still_deck, size) -> None:  # noqa: F811
    app = AgentdeckApp(still_deck)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.dashboard.approvals)

        def keys() -> list[str]:
            return [k.description for k in app.query(layout.DeckFooter).first().query("FooterKey")]

        # (the footer draws its keys a refresh after they change: wait for them, not a pause)
        await until(pilot, lambda: "allow" in keys())
        assert app.query_one("#approvals").region.height > 0
        assert "1 waiting" in str(app.query_one("#status").render())
        assert "help" in keys() and "quit" in keys(), keys()
        def shown() -> list[str]:
            return [p.agent for p in app.query(TerminalPane) if p.display and p.region.height]

        if size[0] < 110:  # one pane at a time: the waiting agent's (its request highlighted)
            await until(pilot, lambda: shown() == [app.dashboard.selected] == ["tests"])
        else:
            assert len(shown()) == 3
        await pilot.press("z")  # zoom works in every layout: one pane, taller
        await pilot.pause()
        [pane] = [p for p in app.query(TerminalPane) if p.display and p.region.height]
        assert pane.agent == app.dashboard.selected


async def test_the_footer_fits_a_window_resized_from_wide_to_narrow(still_deck) -> None:  # noqa: F811
    app = AgentdeckApp(still_deck)
    async with app.run_test(size=(200, 50)) as pilot:
        await until(pilot, lambda: app.dashboard.approvals)
        footer = app.query(layout.DeckFooter).first()
        await until(pilot, lambda: "spawn" in [k.description for k in footer.query("FooterKey")])
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: "spawn" not in [
            k.description for k in footer.query("FooterKey")])
        await pilot.press("z")
        await pilot.pause()
        keys = [k.description for k in footer.query("FooterKey")]
        assert "help" in keys and "quit" in keys and "spawn" not in keys, keys


async def test_help_lists_the_keys_as_bound_and_escape_closes(still_deck) -> None:  # noqa: F811
    app = AgentdeckApp(still_deck)
    async with app.run_test(size=(100, 30)) as pilot:
        app.set_keymap({"allow": "Y"})
        await pilot.pause()
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        lines = {item.id: item.keys for item in app.screen.keys if item.id}
        assert lines["allow"] == "Y" and lines["zoom"] == "z" and lines["stop-agent"] == "X"
        assert app.screen.release_key == "ctrl+]"
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_ctrl_s_on_an_invalid_field_says_why(still_deck) -> None:  # noqa: F811
    app = AgentdeckApp(still_deck)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SpawnDialog))
        await pilot.press("ctrl+s")
        await until(pilot, lambda: any("name:" in n.message for n in app._notifications))
        assert app.screen.focused is not None and app.screen.focused.id == "name"


def test_user_themes_are_files_and_bad_ones_are_reported(tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text("name: mine\nprimary: '#ff00ff'\ndark: false\n"
                                        "diff: friendly\n")
    (tmp_path / "broken.yaml").write_text("name: broken\nprimry: '#fff'\n")
    themes = load_themes(tmp_path)
    assert {"agentdeck-dark", "agentdeck-light", "agentdeck-high-contrast", "mine"} <= set(
        themes.themes)
    assert themes.diff_style("mine", False) == "friendly"
    assert any("broken.yaml" in p and "primry" in p for p in themes.problems)


def test_an_unknown_theme_is_a_usage_error(still_deck) -> None:  # noqa: F811
    with pytest.raises(UsageError, match="no theme named 'nope'"):
        AgentdeckApp(still_deck, theme="nope")


def test_serve_refuses_an_unknown_theme_in_one_line(tmp_path: Path) -> None:
    from tests.conftest import assert_one_line_error, make_repo, run_agentdeck

    repo = make_repo(tmp_path)
    result = run_agentdeck("serve", "--theme", "nope", "--port", "1", cwd=repo)
    assert_one_line_error(result, 2, "no theme named 'nope'")


@pytest.mark.parametrize("width", [220, 300])
async def test_the_agent_table_is_whole_at_every_wide_size(still_deck, width) -> None:  # noqa: F811
    """The radar and the state get the room the window has: no column is cut at the sidebar's
    edge from 220 columns up, with a radar note of two files and a rate limit's reset time."""
    from dataclasses import replace

    from agentdeck.ui.widgets.agent_list import AgentList

    app = AgentdeckApp(still_deck)
    async with app.run_test(size=(width, 50)) as pilot:
        await until(pilot, lambda: app.dashboard.approvals)
        rows = dict(app.dashboard.rows)
        rows["docs"] = replace(rows["docs"], radar="⚠ tests: src/app.py, src/shared.py")
        rows["lead"] = replace(rows["lead"], state="rate-limited", detail="(resets 3pm)")
        app.dashboard.rows = rows
        await pilot.pause()
        table = app.query_one(AgentList)
        await until(pilot, lambda: sum(c.get_render_width(table) for c in
                                       table.columns.values()) > 0)
        used = sum(c.get_render_width(table) for c in table.columns.values())
        assert "radar" in [c.value for c in table.columns]
        assert used <= table.size.width, (used, table.size.width)


def test_columns_are_left_out_worktree_first_and_never_the_radar() -> None:
    from agentdeck.ui.widgets.agent_list import COLUMNS, fit_columns

    widths = dict.fromkeys(COLUMNS, 10)
    assert fit_columns(widths, 70) == COLUMNS
    assert fit_columns(widths, 69) == ("agent", "state", "branch", "port", "db", "radar")
    assert fit_columns(widths, 45) == ("agent", "state", "port", "radar")
    assert fit_columns(widths, 5) == ("agent", "state", "radar")  # (cut, not left out)
