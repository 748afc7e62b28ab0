"""Pull requests and issues through the real `gh`, against a local HTTPS server playing GitHub's
API (tests/fake_github.py; its CA through SSL_CERT_FILE, GH_HOST set to it): `spawn --issue 7`
takes the issue's text as the task; `pr` pushes to a local bare origin and opens a draft pull
request with the right title, body and head; the sidebar shows its state and a failing check.
Without gh, logged out, or with an origin that is not GitHub: one line saying so."""

from __future__ import annotations

import functools
import json
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agentdeck.core.deck import Deck
from agentdeck.core.fleet.registry import Registry
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.ui.app import AgentdeckApp
from agentdeck.ui.screens.dashboard import DashboardScreen
from agentdeck.ui.widgets.agent_list import AgentList
from tests.conftest import Run, assert_one_line_error, commit, git, make_repo, requires, write_fleet
from tests.conftest import until as _until
from tests.fake_github import FakeGitHub

until = functools.partial(_until, timeout=30.0)


@pytest.fixture
def github(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    requires("gh", None if shutil.which("gh") else "not installed: apt-get install gh")
    fake = FakeGitHub(issues={7: {"number": 7, "title": "Fix add()",
                                  "body": "add(2, 3) gives -1; it should give 5."}})
    fake.start(tmp_path)
    for key, value in fake.env(tmp_path / "gh-config").items():
        monkeypatch.setenv(key, value)
    yield fake
    fake.stop()


def github_repo(tmp_path: Path, fake: FakeGitHub) -> Path:
    """A clone whose origin is the fake GitHub's repository, pushed to a local bare one."""
    repo = make_repo(tmp_path)
    git(repo, "remote", "set-url", "origin", f"https://{fake.host}/acme/app.git")
    git(repo, "remote", "set-url", "--push", "origin", str(tmp_path / "app-origin.git"))
    listens = tmp_path / "listens.py"
    listens.write_text(LISTENS)
    write_fleet(repo, f"version: 1\nworktrees: ../wt-{{name}}\ncommands: {{listens: "
                f"\"{sys.executable} {listens} {tmp_path / 'heard.jsonl'}\"}}\nagents: []\n")
    return repo


# an agent at its prompt that logs what it reads
LISTENS = r"""
import json, os, sys, tty
tty.setraw(0)
os.write(1, b"> ")
while True:
    data = os.read(0, 4096)
    with open(sys.argv[1], "a") as fh:
        fh.write(json.dumps(data.decode()) + "\n")
    os.write(1, b"\r\x1b[K> " if data == b"\r" else data)
"""


async def test_an_issue_becomes_a_task_and_its_work_a_pull_request(
        tmp_path: Path, github: FakeGitHub, cli: Callable[..., Run]) -> None:
    repo = github_repo(tmp_path, github)
    made = cli("spawn", "fix", "--issue", "7", "--agent", "listens", cwd=repo)
    assert made.code == 0, made.err
    ctx = open_repo(repo)
    task = Registry(ctx.state_dir).load().agents["fix"].task or ""
    assert task.startswith("GitHub issue #7: Fix add()") and "it should give 5" in task
    assert load_fleet(repo / "agentdeck.yaml").agents[0].task == task

    nothing = cli("pr", "fix", cwd=repo)
    assert_one_line_error(nothing, 1, "nothing to propose")
    commit(tmp_path / "wt-fix", "src/calc.py", "def add(a, b):\n    return a + b\n",
           "Make add() add")
    opened = cli("pr", "fix", cwd=repo)
    assert opened.code == 0, opened.err
    assert "pushed agentdeck/fix to origin" in opened.out
    tip = git(tmp_path / "wt-fix", "rev-parse", "HEAD").strip()
    assert git(tmp_path / "app-origin.git", "rev-parse", "agentdeck/fix").strip() == tip
    [pull] = github.pulls
    assert (pull["title"], pull["headRefName"], pull["baseRefName"], pull["isDraft"]) == (
        "GitHub issue #7: Fix add()", "agentdeck/fix", "main", True)
    assert "it should give 5" in pull["body"] and "- Make add() add" in pull["body"]
    assert "Closes #7" in pull["body"]
    assert pull["url"] in opened.out

    # the sidebar: the pull request's state and its failing check
    run_url = f"https://{github.host}/acme/app/actions/runs/55/job/550"
    github.checks["agentdeck/fix"] = [{"name": "ci/test", "conclusion": "FAILURE",
                                       "url": run_url},
                                      {"name": "lint", "conclusion": "SUCCESS"}]
    github.runs[55] = {"id": 55, "branch": "agentdeck/fix", "job": "test", "step": "pytest",
                       "log": "2026-01-01T00:00:10Z FAILED test_add - assert -1 == 5\n"}
    deck = Deck.open(ctx, load_fleet(repo / "agentdeck.yaml"))
    try:
        app = AgentdeckApp(deck)
        async with app.run_test(size=(160, 45)) as pilot:
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            await until(pilot, lambda: screen.rows["fix"].checks == "PR#1 draft ✖ci/test ✔lint")
            assert [c["name"] for c in screen.checks.remote_failures("fix")] == ["ci/test"]
            # f: the failing remote check's log, handed to the agent (after its task)
            heard = tmp_path / "heard.jsonl"
            await until(pilot, lambda: heard.exists() and "GitHub issue #7" in heard.read_text())
            agents = app.query_one(AgentList)
            agents.focus()
            agents.move_cursor(row=agents.get_row_index("fix"))
            await pilot.press("f")
            await until(pilot, lambda: "assert -1 == 5" in heard.read_text())
            said = "".join(json.loads(x) for x in heard.read_text().splitlines())
            assert 'The check "ci/test" failed on your pull request' in said
    finally:
        deck.close()

    assert "fix" in Registry(ctx.state_dir).load().agents
    assert "merged" not in cli("prune", cwd=repo).out  # open: it stays
    pull["state"] = "MERGED"  # merged on the forge: prune cleans the agent up
    pruned = cli("prune", cwd=repo)
    assert pruned.code == 0, pruned.err
    assert f"fix: its pull request was merged ({pull['url']})" in pruned.out
    assert "deleted branch agentdeck/fix" in pruned.out
    assert "fix" not in Registry(ctx.state_dir).load().agents
    assert not (tmp_path / "wt-fix").exists()
    assert load_fleet(repo / "agentdeck.yaml").agents == ()


def test_gh_missing_logged_out_or_not_github_is_one_line(
        tmp_path: Path, github: FakeGitHub, cli: Callable[..., Run],
        monkeypatch: pytest.MonkeyPatch) -> None:
    repo = github_repo(tmp_path, github)
    assert cli("spawn", "w", "--agent", "shell", "--task", "x", cwd=repo).code == 0
    commit(tmp_path / "wt-w", "a.txt", "a\n")

    (tmp_path / "bin").mkdir()  # a PATH with git and no gh
    (tmp_path / "bin" / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert_one_line_error(cli("pr", "w", cwd=repo), 1, "gh", "not installed")
    monkeypatch.undo()
    for key, value in github.env(tmp_path / "gh-empty").items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("GH_ENTERPRISE_TOKEN")
    assert_one_line_error(cli("pr", "w", cwd=repo), 1, "not logged in", github.host)
    assert_one_line_error(cli("spawn", "v", "--issue", "7", cwd=repo), 1, "not logged in")
    monkeypatch.setenv("GH_ENTERPRISE_TOKEN", "fake-token")
    git(repo, "remote", "set-url", "origin", "https://gitlab.example/acme/app.git")
    assert_one_line_error(cli("pr", "w", cwd=repo), 1, "not GitHub", "github.com", "GH_HOST")
    assert_one_line_error(cli("spawn", "v", "--issue", "seven", cwd=repo), 2, "--issue")
    assert not github.pulls
