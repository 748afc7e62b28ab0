"""The review screen, driven with Pilot: files with +/− counts, a side-by-side diff with hunk and
file navigation, the uncommitted toggle, the radar's conflict warning, feedback sent to the
agent as a message anchored to a file and line, a 10,000-line diff, and a snapshot."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from agentdeck.core.deck import Deck
from agentdeck.core.engine.engine import Engine
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.ui.app import AgentdeckApp
from agentdeck.ui.screens.confirm import Confirm
from agentdeck.ui.screens.review import ReviewScreen
from agentdeck.ui.widgets.agent_list import AgentList
from agentdeck.ui.widgets.diff_view import DiffView
from tests.conftest import commit, git, make_repo, steady_cursors, until, write_fleet

LISTENER = r"""
import json, os, sys, tty
tty.setraw(0)
os.write(1, b"> ? for shortcuts\r\n")
while True:
    data = os.read(0, 4096)
    with open(sys.argv[1], "a") as fh:
        fh.write(json.dumps(data.decode()) + "\n")
"""


@pytest.fixture
def reviewed(tmp_path: Path):
    repo = make_repo(tmp_path, files={"src/app.py": "".join(f"line {i}\n" for i in range(40))})
    listener = tmp_path / "listener.py"
    listener.write_text(LISTENER)
    log = tmp_path / "a.jsonl"
    write_fleet(repo, f"""version: 1
base: origin/main
worktrees: ../wt-{{name}}
commands: {{listen: "{sys.executable} {listener} {log}"}}
defaults: {{agent: listen}}
agents:
  - {{name: a, branch: feat/a}}
  - {{name: b, branch: feat/b}}
""")
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    a, b = tmp_path / "wt-a", tmp_path / "wt-b"
    text = "".join(f"line {i}\n" for i in range(40)).replace("line 3\n", "line three\n")
    commit(a, "src/app.py", text.replace("line 30\n", "line thirty\n"))
    commit(a, "src/new.py", "def new():\n    return 1\n")
    commit(b, "src/app.py", text.replace("line 3\n", "line 3\n").replace(
        "line three\n", "line THREE from b\n"))
    deck = Deck.open(ctx, fleet)
    yield deck, a, log
    deck.close()


async def open_review(app: AgentdeckApp, pilot) -> ReviewScreen:  # type: ignore[no-untyped-def]
    agents = app.query_one(AgentList)
    agents.focus()
    agents.move_cursor(row=agents.get_row_index("a"))
    await pilot.press("r")
    await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
    screen = app.screen
    assert isinstance(screen, ReviewScreen)
    await until(pilot, lambda: screen.query_one("#review-file-table", DataTable).row_count == 2)
    return screen


async def test_review_shows_files_diff_navigation_and_conflicts(reviewed) -> None:
    deck, worktree, log = reviewed
    app = AgentdeckApp(deck)
    async with app.run_test(size=(160, 45)) as pilot:
        screen = await open_review(app, pilot)
        table = screen.query_one("#review-file-table", DataTable)
        assert [table.get_row_at(i)[1:] for i in range(2)] == [
            ["src/app.py", "+2", "−2"], ["src/new.py", "+2", "−0"]]
        view = screen.query_one(DiffView)
        assert view.side_by_side, view.size
        await until(pilot, lambda: "conflicts with b" in str(
            screen.query_one("#review-head", Static).render()))
        view.focus()
        await pilot.press("n")
        assert view.rows[view.cursor].kind == "hunk"
        first = view.cursor
        await pilot.press("n")
        assert view.rows[view.cursor].kind == "hunk" and view.cursor > first
        await pilot.press("p")
        assert view.cursor == first
        await pilot.press("right_square_bracket")
        row = view.rows[view.cursor]
        assert row.kind == "file" and view.files[row.file].path == "src/new.py"
        # feedback, anchored where the view is
        await pilot.press("c")
        await pilot.press(*"please add a test", "ctrl+s")
        await until(pilot, lambda: log.exists() and len(log.read_text().splitlines()) >= 2)
        typed = [json.loads(x) for x in log.read_text().splitlines()]
        assert typed[0].startswith("In src/new.py line 1: please add a test")
        assert typed[-1] == "\r"
        # work on disk appears with the toggle
        (worktree / "src/draft.py").write_text("draft = True\n")
        await pilot.press("u")
        await until(pilot, lambda: table.row_count == 3)


async def test_a_ten_thousand_line_diff_scrolls(reviewed) -> None:
    deck, worktree, _ = reviewed
    commit(worktree, "big.txt", "".join(f"row {i}\n" for i in range(10_000)))
    app = AgentdeckApp(deck)
    async with app.run_test(size=(160, 45)) as pilot:
        agents = app.query_one(AgentList)
        agents.focus()
        agents.move_cursor(row=agents.get_row_index("a"))
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        view = app.screen.query_one(DiffView)
        await until(pilot, lambda: len(view.rows) > 10_000)
        view.focus()
        await pilot.press("end")
        await pilot.pause()
        assert view.top_row() > 9_900  # the end of 10,000+ rows, drawn a screen at a time
        last = next(i for i, row in enumerate(view.rows)
                    if row.right is not None and row.right.text == "row 9999")
        view.move_to(last)
        await pilot.pause()
        line = view.render_line(last - view.top_row())
        assert "row 9999" in "".join(s.text for s in line)


@pytest.mark.parametrize("size", [(140, 30), (80, 24)], ids=["140x30", "80x24"])
def test_review_snapshot(reviewed, snap_compare, size) -> None:
    deck, _, _ = reviewed
    app = AgentdeckApp(deck)

    async def open_it(pilot) -> None:  # type: ignore[no-untyped-def]
        await open_review(app, pilot)
        screen = app.screen
        await until(pilot, lambda: "conflicts with b" in str(
            screen.query_one("#review-head", Static).render()))
        view = screen.query_one(DiffView)
        view.focus()
        await pilot.pause()
        view.move_to(1)  # the first hunk, underlined
        await pilot.wait_for_scheduled_animations()
        await steady_cursors(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_it)


async def test_the_sidebar_shows_who_collides_on_which_files(reviewed) -> None:
    deck, _, _ = reviewed
    app = AgentdeckApp(deck)
    async with app.run_test(size=(200, 45)) as pilot:
        await until(pilot, lambda: app.dashboard.rows["a"].radar.startswith("⚠ b: src/app.py"))
        assert app.dashboard.rows["b"].radar.startswith("⚠ a: src/app.py")


async def test_merge_then_clean_up_from_review(reviewed) -> None:
    deck, worktree, _ = reviewed
    app = AgentdeckApp(deck)
    repo = deck.ctx.main_root
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: deck.host.sessions() and all(
            i.process == "running" for i in deck.host.sessions()))
        screen = await open_review(app, pilot)
        screen.query_one(DiffView).focus()
        await pilot.press("D")  # not merged yet: refused, nothing removed, nothing stopped
        await until(pilot, lambda: any("commit(s) are on no other branch" in n.message
                                       for n in app._notifications))
        assert worktree.exists() and deck.host.info("a").process == "running"
        # M asks first, saying what goes where; n leaves everything as it was
        main_tip = git(repo, "rev-parse", "main")
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        assert app.screen.question == "merge feat/a into main (2 commits, 2 files)?"
        assert "a's work goes into main." in app.screen.detail
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
        assert git(repo, "rev-parse", "main") == main_tip
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, Confirm))
        await pilot.press("y")
        await until(pilot, lambda: (repo / "src/new.py").exists())
        (worktree / "notes.txt").write_text("work in progress\n")
        await pilot.press("D")  # merged, but the worktree holds work: refused, still running
        await until(pilot, lambda: any("uncommitted or untracked" in n.message
                                       for n in app._notifications))
        assert worktree.exists() and deck.host.info("a").process == "running"
        (worktree / "notes.txt").unlink()
        await pilot.press("D")
        await until(pilot, lambda: not worktree.exists())
        await until(pilot, lambda: not app.query("#pane-a"))
        assert "a" not in app.dashboard.rows and not isinstance(app.screen, ReviewScreen)
    assert "feat/a" not in git(repo, "branch", "--list")


async def test_the_line_cursor_anchors_feedback_and_long_lines_say_so(reviewed) -> None:
    deck, worktree, _ = reviewed
    long = "x = '" + "y" * 200 + "'\n"
    commit(worktree, "src/app.py", (worktree / "src/app.py").read_text() + long)
    app = AgentdeckApp(deck)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await open_review(app, pilot)
        view = screen.query_one(DiffView)
        view.focus()
        await pilot.pause()
        # down to the changed line "line three" (was "line 3"): anchored to it, both numbers
        for _ in range(60):
            row = view.rows[view.cursor]
            if row.kind == "line" and any(x and x.text == "line three"
                                          for x in (row.left, row.right)):
                break
            await pilot.press("down")
        anchor = view.feedback_anchor()
        assert anchor is not None and str(anchor) == "src/app.py line 4"
        # the cursor's row is drawn reversed in its gutter
        top = view.cursor - view.top_row()
        assert any(seg.style and seg.style.reverse for seg in view.render_line(top))
        # the file list follows the cursor into the second file
        table = screen.query_one("#review-file-table", DataTable)
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: table.cursor_row == view.current_file)
        # a line longer than the view ends in a mark; sideways scrolling shows more of it
        await pilot.press("left_square_bracket")
        for _ in range(200):
            row = view.rows[view.cursor]
            if row.kind == "line" and (row.right or row.left).text.startswith("x = '"):
                break
            await pilot.press("down")
        text = "".join(seg.text for seg in view.render_line(view.cursor - view.top_row()))
        assert text.rstrip().endswith("›"), text
        await pilot.press("right")
        text = "".join(seg.text for seg in view.render_line(view.cursor - view.top_row()))
        assert "‹" in text
        # feedback shows where it points before it is sent
        await pilot.press("c")
        await until(pilot, lambda: screen.app.screen.query("#message-about"))
        about = str(screen.app.screen.query_one("#message-about").render())
        assert "src/app.py line 41" in about
        await pilot.press("escape")
        # the footer holds the review's keys, not the dashboard's
        keys = {k.description for k in screen.query("FooterKey")}
        assert "comment" in keys and "allow" not in keys and "spawn" not in keys, keys


async def test_the_radar_looks_again_when_a_branch_moves_not_on_a_timer(reviewed) -> None:
    deck, worktree, _ = reviewed
    app = AgentdeckApp(deck)
    async with app.run_test(size=(200, 45)) as pilot:
        await until(pilot, lambda: app.dashboard.rows["b"].radar.startswith("⚠ a: src/app.py"))
        # b drops its work (its branch moves back to main): the conflict is gone at once
        b = worktree.parent / "wt-b"
        git(b, "reset", "--quiet", "--hard", "origin/main")
        await until(pilot, lambda: not app.dashboard.rows["b"].radar.startswith("⚠"), timeout=20)
        assert not app.dashboard.rows["a"].radar.startswith("⚠")
        # a file edited on disk in b's worktree is seen too (uncommitted work counts)
        (b / "src" / "app.py").write_text("".join(f"line {i}\n" for i in range(40)).replace(
            "line 3\n", "line 3 from b on disk\n"))
        await until(pilot, lambda: app.dashboard.rows["b"].radar.startswith("⚠ a: src/app.py"),
                    timeout=20)


def test_which_agents_a_change_concerns(tmp_path: Path) -> None:
    from agentdeck.core.fleet.registry import AgentRecord
    from agentdeck.core.git.watch import ALL, _wanted, affected

    common = tmp_path / "app" / ".git"
    recs = [AgentRecord(name=n, agent="shell", role="worker", branch=f"feat/{n}",
                        base="origin/main", worktree=str(tmp_path / f"wt-{n}"))
            for n in ("a", "b")]
    assert affected([str(tmp_path / "wt-a" / "src" / "x.py")], recs, common) == {"a"}
    assert affected([str(common / "refs" / "heads" / "feat" / "b")], recs, common) == {"b"}
    assert affected([str(common / "refs" / "heads" / "main")], recs, common) is ALL
    assert affected([str(tmp_path / "elsewhere")], recs, common) == set()
    assert not _wanted(str(tmp_path / "wt-a" / "node_modules" / "x" / "y.js"), common)
    assert not _wanted(str(common / "objects" / "ab" / "cdef"), common)
    assert _wanted(str(common / "refs" / "heads" / "feat" / "a"), common)


# works a moment on each line it reads, then sits quiet at its input (idle)
TURNS = r"""
import sys, time
print("ready", flush=True)
for line in sys.stdin:
    for i in range(3):
        print(f"working on {line.strip()} {i}", flush=True)
        time.sleep(0.1)
"""


async def test_the_radar_looks_at_each_turns_end_when_it_cannot_watch(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worktrees cannot be watched — inotify's instances ran out (what watchfiles says then,
    as tests/test_first_use.py gets it from a real exhausted limit): the user is told how to
    raise the limits, and the radar still finds a conflict that appears later, when the agent
    that made it ends its turn."""
    import agentdeck.ui.radar as radar_module
    from agentdeck.core.git.watch import ChangeWatcher

    class Unwatchable(ChangeWatcher):
        def _run(self) -> None:
            self.on_error("Error creating recommended watcher: Too many open files (os error 24)")

    monkeypatch.setattr(radar_module, "ChangeWatcher", Unwatchable)
    repo = make_repo(tmp_path)
    (tmp_path / "turns.py").write_text(TURNS)
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands: {{turns: "{sys.executable} {tmp_path / 'turns.py'}"}}
defaults: {{agent: turns}}
agents: [{{name: a, branch: feat/a}}, {{name: b, branch: feat/b}}]
""")
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    deck = Deck.open(ctx, fleet)
    app = AgentdeckApp(deck)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await until(pilot, lambda: any("cannot watch the worktrees" in n.message
                                           for n in app._notifications))
            [said] = [n.message for n in app._notifications if "cannot watch" in n.message]
            assert "sudo sysctl fs.inotify.max_user_watches=524288" in said
            await until(pilot, lambda: all(app.dashboard.rows[n].state == "idle" for n in "ab"))
            assert not app.dashboard.rows["a"].radar.startswith("⚠")
            # each agent commits in a turn of its own (as agents do): each turn's end is looked at
            for name in ("b", "a"):
                commit(tmp_path / f"wt-{name}", "src/app.py", f"print('from {name}')\n")
                deck.host.write(name, b"wrap up\r")
                await until(pilot,
                            lambda name=name: app.dashboard.seen_state.get(name) == "working")
                await until(pilot, lambda name=name: app.dashboard.rows[name].state == "idle")
            await until(pilot, lambda: app.dashboard.rows["a"].radar.startswith("⚠ b: src/app.py"))
    finally:
        deck.close()
