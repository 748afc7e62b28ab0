"""Best of N, end to end with real git and scripted agents: `fanout` gives one task to three
agents whose work differs (one passes the checks, two fail); their commits are checked without
being asked while the dashboard runs; `compare` shows it; `keep` merges the passing one and
removes the others — refused, with nothing changed, while a sibling holds uncommitted work,
until --force (which lists what it discards)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import DataTable

from agentdeck.core.deck import Deck
from agentdeck.core.engine.check_results import CheckStore
from agentdeck.core.fleet.registry import Registry
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.ui.app import AgentdeckApp
from agentdeck.ui.screens.compare import CompareScreen
from agentdeck.ui.screens.dashboard import DashboardScreen
from tests.conftest import Run, assert_one_line_error, git, make_repo, write_fleet
from tests.conftest import until as _until
from tests.test_checks import BAD, CHECK_ADD, GOOD

until = functools.partial(_until, timeout=40.0)

# an agent that does its work at once: writes its version of src/calc.py, commits it, then
# waits at its prompt
WORKS = r"""
import os, subprocess, sys
os.makedirs("src", exist_ok=True)
with open("src/calc.py", "w") as fh:
    fh.write(open(sys.argv[1]).read())
subprocess.run(["git", "add", "src/calc.py"], check=True)
subprocess.run(["git", "commit", "-qm", "add()"], check=True)
while True:
    line = input("> ")
"""


def fanned_out(cli: Callable[..., Run], repo: Path, group: str) -> tuple[Deck, CheckStore]:
    """Two candidates of `group` (one failing its check, one passing), not started, and the
    deck a dashboard opens on them with the check results' store."""
    assert cli("fanout", group, "--task", "add", "--count", "2", "--agent", "bad,good",
               "--no-start", cwd=repo).code == 0
    ctx = open_repo(repo)
    return Deck.open(ctx, load_fleet(repo / "agentdeck.yaml")), CheckStore(ctx.state_dir)


def fanout_repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path, files={"check_add.py": CHECK_ADD})
    agent = tmp_path / "works.py"
    agent.write_text(WORKS)
    for name, text in (("good", GOOD), ("bad", BAD)):
        (tmp_path / f"{name}.txt").write_text(text)
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands:
  good: "{sys.executable} {agent} {tmp_path / 'good.txt'}"
  bad: "{sys.executable} {agent} {tmp_path / 'bad.txt'}"
checks:
  - {{name: tests, run: "{sys.executable} -B check_add.py"}}
agents: []
""")
    return repo


async def test_fanout_compare_keep(tmp_path: Path, cli: Callable[..., Run]) -> None:
    repo = fanout_repo(tmp_path)
    made = cli("fanout", "cand", "--task", "make add() add", "--count", "3", "--agent",
               "bad,good,bad", "--no-start", cwd=repo)
    assert made.code == 0, made.err
    fleet = load_fleet(repo / "agentdeck.yaml")
    assert [(a.name, a.agent, a.task) for a in fleet.agents] == [
        ("cand-1", "bad", "make add() add"), ("cand-2", "good", "make add() add"),
        ("cand-3", "bad", "make add() add")]
    again = cli("fanout", "cand", "--task", "x", cwd=repo)
    assert_one_line_error(again, 2, "exist")

    ctx = open_repo(repo)
    store = CheckStore(ctx.state_dir)
    deck = Deck.open(ctx, fleet)
    try:
        app = AgentdeckApp(deck)
        async with app.run_test(size=(160, 45)) as pilot:
            screen = app.screen
            assert isinstance(screen, DashboardScreen)

            def judged() -> dict[str, str]:
                tips = {n: git(repo, "rev-parse", f"agentdeck/{n}").strip()
                        for n in ("cand-1", "cand-2", "cand-3")}
                found = store.load()
                return {n: found[n]["tests"].status for n in tips
                        if n in found and "tests" in found[n]
                        and found[n]["tests"].commit == tips[n]
                        and found[n]["tests"].status != "running"}

            # each candidate's commit is checked without being asked
            await until(pilot, lambda: len(judged()) == 3)
            assert judged() == {"cand-1": "fail", "cand-2": "pass", "cand-3": "fail"}
            await until(pilot, lambda: [screen.rows[n].checks for n in
                                        ("cand-1", "cand-2", "cand-3")]
                        == ["✖tests", "✔tests", "✖tests"])

            await pilot.press("C")  # the compare screen: the same, side by side
            await until(pilot, lambda: isinstance(app.screen, CompareScreen)
                        and app.screen.found)
            compared = app.screen
            assert isinstance(compared, CompareScreen)
            table = compared.query_one("#compare-table", DataTable)
            assert [str(table.get_cell(n, "checks")) for n in ("cand-1", "cand-2", "cand-3")] \
                == ["✖tests", "✔tests", "✖tests"]
            assert str(table.get_cell("cand-2", "+/−")) == "+2 −0"
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen)
    finally:
        deck.close()

    shown = cli("compare", "cand", cwd=repo)
    assert shown.code == 0, shown.err
    assert "make add() add" in shown.out
    lines = {line.split()[0]: line for line in shown.out.splitlines()[2:] if line.strip()}
    assert "✔tests" in lines["cand-2"] and "✖tests" in lines["cand-1"]
    assert "passing every check: cand-2" in shown.out
    data = json.loads(cli("compare", "cand", "--json", cwd=repo).out)
    by_name = {c["name"]: c for c in data["candidates"]}
    assert [c["checks"][0]["status"] for c in data["candidates"]] == ["fail", "pass", "fail"]
    assert (by_name["cand-2"]["commits"], by_name["cand-2"]["files"],
            by_name["cand-2"]["added"]) == (1, 1, 2)
    assert by_name["cand-2"]["agent"] == "good"

    # a sibling with uncommitted work stops keep, nothing changed
    main_before = git(repo, "rev-parse", "main").strip()
    (tmp_path / "wt-cand-3" / "notes.txt").write_text("my notes\n")
    refused = cli("keep", "cand-2", cwd=repo)
    assert_one_line_error(refused, 1, "cand-3", "notes.txt", "--force")
    assert git(repo, "rev-parse", "main").strip() == main_before
    assert set(Registry(ctx.state_dir).load().agents) == {"cand-1", "cand-2", "cand-3"}

    kept = cli("keep", "cand-2", "--force", cwd=repo)
    assert kept.code == 0, kept.err
    assert "cand-3: --force discards 1 uncommitted change(s)" in kept.out
    assert "notes.txt" in kept.out
    assert "cand-2: merged agentdeck/cand-2 into main" in kept.out
    assert "cand-1: deleted branch agentdeck/cand-1 (its tip was" in kept.out
    assert (repo / "src" / "calc.py").read_text() == GOOD
    assert set(Registry(ctx.state_dir).load().agents) == {"cand-2"}
    for gone in ("cand-1", "cand-3"):
        assert not (tmp_path / f"wt-{gone}").exists()
        assert not git(repo, "branch", "--list", f"agentdeck/{gone}").strip()
        assert gone not in store.load()
    assert [a.name for a in load_fleet(repo / "agentdeck.yaml").agents] == ["cand-2"]
    assert (tmp_path / "wt-cand-2").is_dir()  # the kept one stays (merge without --cleanup)


def test_keep_and_compare_say_what_they_need(tmp_path: Path, cli: Callable[..., Run]) -> None:
    repo = fanout_repo(tmp_path)
    write_fleet(repo, (repo / "agentdeck.yaml").read_text().replace(
        "agents: []", "agents: [{name: solo, agent: good}]"))
    assert cli("up", "--no-start", cwd=repo).code == 0
    assert_one_line_error(cli("keep", "solo", cwd=repo), 2, "not a candidate of a fanout")
    assert_one_line_error(cli("keep", "nobody", cwd=repo), 2, "no agent named nobody")
    assert_one_line_error(cli("compare", "nope", cwd=repo), 2, "no fanout named nope")
    assert_one_line_error(cli("fanout", "x", "--task", "t", "--agent", "nosuch", cwd=repo),
                          2, "unknown agent kind nosuch")
    assert_one_line_error(cli("fanout", "x", "--task", " ", cwd=repo), 2, "cannot be empty")
    assert_one_line_error(cli("fanout", "solo", "--task", "t", "--count", "0", cwd=repo), 2)


async def test_K_in_the_compare_screen_keeps_one(tmp_path: Path, cli: Callable[..., Run]) -> None:
    repo = fanout_repo(tmp_path)
    deck, store = fanned_out(cli, repo, "pair")
    try:
        app = AgentdeckApp(deck)
        async with app.run_test(size=(160, 45)) as pilot:
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            await until(pilot, lambda: screen.rows["pair-2"].checks == "✔tests"
                        and screen.rows["pair-1"].checks == "✖tests")
            await pilot.press("C")
            await until(pilot, lambda: isinstance(app.screen, CompareScreen)
                        and len(app.screen.found) == 2)
            compared = app.screen
            assert isinstance(compared, CompareScreen)
            table = compared.query_one("#compare-table", DataTable)
            table.move_cursor(row=table.get_row_index("pair-2"))
            await pilot.press("K")
            await pilot.pause()
            await pilot.press("y")  # (the confirmation)
            await until(pilot, lambda: "pair-1" not in screen.rows)
            await until(pilot, lambda: [c.name for c in compared.found] == ["pair-2"])
    finally:
        deck.close()
    assert (repo / "src" / "calc.py").read_text() == GOOD
    assert set(Registry(deck.ctx.state_dir).load().agents) == {"pair-2"}
    assert not (tmp_path / "wt-pair-1").exists() and "pair-1" not in store.load()


def test_the_radar_suggests_a_merge_order(tmp_path: Path, cli: Callable[..., Run]) -> None:
    """a and c each collide with b only; b collides with both: b goes last. An agent whose
    work touches no one's is in no order."""
    from tests.conftest import commit

    repo = make_repo(tmp_path)
    write_fleet(repo, "version: 1\nworktrees: ../wt-{name}\nagents: [{name: a, agent: shell}, "
                "{name: b, agent: shell}, {name: c, agent: shell}, {name: d, agent: shell}]\n")
    assert cli("up", "--no-start", cwd=repo).code == 0
    commit(tmp_path / "wt-a", "src/app.py", "print('a')\n")
    commit(tmp_path / "wt-b", "src/app.py", "print('b')\n")
    commit(tmp_path / "wt-b", "notes.md", "b\n")
    commit(tmp_path / "wt-c", "notes.md", "c\n")
    commit(tmp_path / "wt-d", "elsewhere.md", "d\n")
    said = cli("conflicts", cwd=repo)
    assert said.code == 1
    assert "merge order: a → c → b" in said.out
    data = json.loads(cli("conflicts", "--json", cwd=repo).out)
    assert data["merge_order"] == [["a", "c", "b"]]


def test_spawn_takes_its_task_from_a_file(tmp_path: Path, cli: Callable[..., Run]) -> None:
    repo = make_repo(tmp_path)
    write_fleet(repo, "version: 1\nworktrees: ../wt-{name}\nagents: []\n")
    (tmp_path / "task.md").write_text("# Fix add()\n\nIt subtracts.\n")
    assert cli("spawn", "t", "--agent", "shell", "--task-file", str(tmp_path / "task.md"),
               cwd=repo).code == 0
    task = Registry(open_repo(repo).state_dir).load().agents["t"].task
    assert task == "# Fix add()\n\nIt subtracts."
    missing = cli("spawn", "u", "--task-file", str(tmp_path / "nope.md"), cwd=repo)
    assert_one_line_error(missing, 2, "--task-file", "nope.md")
    both = cli("spawn", "u", "--task", "x", "--issue", "7", cwd=repo)
    assert_one_line_error(both, 2, "not allowed with")


def test_fanout_starts_them_and_the_session_host_judges_their_commits(
        tmp_path: Path, cli: Callable[..., Run]) -> None:
    """With no dashboard open: fanout starts the candidates in the session host daemon, which
    runs the checks on each one's commit; compare shows it, keep stops and removes the
    sibling."""
    from agentdeck.daemon import lifecycle
    from tests.conftest import wait

    repo = fanout_repo(tmp_path)
    ctx = open_repo(repo)
    store = CheckStore(ctx.state_dir)
    try:
        made = cli("fanout", "duo", "--task", "make add() add", "--count", "2", "--agent",
                   "bad,good", cwd=repo)
        assert made.code == 0, made.err
        assert "duo-1: started" in made.out and "duo-2: started" in made.out

        def judged() -> dict[str, str]:
            found = store.load()
            return {n: found[n]["tests"].status for n in ("duo-1", "duo-2")
                    if "tests" in found.get(n, {}) and found[n]["tests"].commit
                    == (git(repo, "rev-parse", f"agentdeck/{n}").strip())
                    and found[n]["tests"].status != "running"}

        wait(lambda: len(judged()) == 2, "the session host to judge both commits", timeout=60)
        assert judged() == {"duo-1": "fail", "duo-2": "pass"}
        data = json.loads(cli("compare", "duo", "--json", cwd=repo).out)
        assert [c["checks"][0]["status"] for c in data["candidates"]] == ["fail", "pass"]
        kept = cli("keep", "duo-2", cwd=repo)
        assert kept.code == 0, kept.err
        assert "duo-1: stopped it and every process it started" in kept.out
        assert set(Registry(ctx.state_dir).load().agents) == {"duo-2"}
        assert (repo / "src" / "calc.py").read_text() == GOOD
    finally:
        lifecycle.stop(ctx.state_dir)


async def test_sandboxed_candidates_are_judged_inside_their_sandbox(
        tmp_path: Path, cli: Callable[..., Run]) -> None:
    """Candidates fenced in (sandbox: bwrap): each commits inside its sandbox (its branch carried
    out by the session host), the commit is judged without being asked, and its check runs in
    the same sandbox — a check that tries to write the main checkout cannot."""
    import shutil

    from tests.conftest import requires

    requires("bubblewrap", None if shutil.which("bwrap") else "not installed")
    repo = fanout_repo(tmp_path)
    escape = tmp_path / "escape.py"  # tries to write the main checkout, says how it went
    escape.write_text("import sys\ntry:\n    open(sys.argv[1], 'w').write('x')\n"
                      "    print('escape: written')\nexcept OSError as exc:\n"
                      "    print('escape:', type(exc).__name__)\n")
    probe = f"{sys.executable} {escape} {repo / 'escaped.txt'}; {sys.executable} -B check_add.py"
    text = (repo / "agentdeck.yaml").read_text().replace(
        f'run: "{sys.executable} -B check_add.py"', f'run: "{probe}"').replace(
        "agents: []", "defaults: {sandbox: bwrap}\nagents: []")
    write_fleet(repo, text)
    deck, store = fanned_out(cli, repo, "box")
    try:
        app = AgentdeckApp(deck)
        async with app.run_test(size=(160, 45)) as pilot:
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            await until(pilot, lambda: [screen.rows[n].checks for n in ("box-1", "box-2")]
                        == ["✖tests", "✔tests"])
    finally:
        deck.close()
    result = store.of("box-2")["tests"]
    assert result.commit == git(repo, "rev-parse", "agentdeck/box-2").strip()
    assert "escape: OSError" in result.output_tail, result.output_tail
    assert not (repo / "escaped.txt").exists()


@pytest.mark.parametrize("size", [(80, 24), (160, 45)], ids=["80x24", "160x45"])
def test_compare_screen_snapshot(tmp_path: Path, cli: Callable[..., Run], snap_compare,
                                 size: tuple[int, int]) -> None:
    """Three candidates of one fanout over the dashboard: the one passing its check marked,
    its commits, files and +/- beside the others', each one's time from its making to its last
    commit (commits dated at fixed offsets from it: no wall-clock value in the picture)."""
    import os
    import subprocess

    repo = make_repo(tmp_path, files={"check_add.py": CHECK_ADD})
    write_fleet(repo, f"""version: 1
worktrees: ../wt-{{name}}
commands: {{still: "{sys.executable} -c input()"}}
checks:
  - {{name: tests, run: "{sys.executable} -B check_add.py"}}
agents: []
""")
    assert cli("fanout", "pair", "--task", "add two numbers", "--count", "3", "--agent", "still",
               "--no-start", cwd=repo).code == 0
    ctx = open_repo(repo)
    records = Registry(ctx.state_dir).load().agents
    for number, text, minutes in ((1, BAD, 4), (2, GOOD, 7), (3, BAD, 12)):
        worktree = tmp_path / f"wt-pair-{number}"
        (worktree / "src").mkdir(exist_ok=True)
        (worktree / "src" / "calc.py").write_text(text)
        when = f"@{int(records[f'pair-{number}'].created_at) + minutes * 60} +0000"
        env = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        subprocess.run(["git", "add", "src/calc.py"], cwd=worktree, check=True)
        subprocess.run(["git", "commit", "-qm", "add()"], cwd=worktree, check=True, env=env)
    assert cli("checks", cwd=repo).code == 1  # (two of three fail)
    deck = Deck.open(ctx, load_fleet(repo / "agentdeck.yaml"), clock=lambda: 0.0)
    app = AgentdeckApp(deck)

    async def compared(pilot) -> None:  # type: ignore[no-untyped-def]
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen)
                    and app.screen.rows["pair-2"].checks == "✔tests")
        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen)
                    and len(app.screen.found) == 3
                    and app.screen.query_one("#compare-table", DataTable).row_count == 3)

    try:
        assert snap_compare(app, terminal_size=size, run_before=compared)
    finally:
        deck.close()
