"""Issue 29's validation gaps that a table of hostile fleet files does not show: the short-socket
runtime folder another user could make first, a failed worktree leaving its branches, names
that differ in case from an agent made earlier, and the values that must keep being accepted
(the checks refuse the hostile, not the ordinary)."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

import pytest

from agentdeck.core import unixsock
from agentdeck.core.engine import spawning
from agentdeck.core.errors import OperationError
from agentdeck.core.fleet.dbnames import PgUrl
from agentdeck.core.fleet.options import TEXTUAL_THEMES
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.git.repo import open_repo
from agentdeck.core.isolation.envfiles import read_env, render_block
from agentdeck.core.names import branch_problem
from agentdeck.core.screen.keys import key_problem
from tests.conftest import assert_one_line_error, git, make_repo, run_agentdeck, write_fleet

NOBODY = 65534


# -- the runtime folder: agentdeck-UID in the temp dir --------------------------------------------


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp dir of the test's own, as agentdeck's: the real /tmp/agentdeck-UID is in use by
    everything else running here."""
    shared = tmp_path / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)  # like /tmp: anyone may make a folder there
    monkeypatch.setattr(tempfile, "tempdir", str(shared))
    return shared


def long_state_dir(tmp_path: Path) -> Path:
    """A registry folder whose socket path is too long for a socket address."""
    return tmp_path / ("d" * 120) / ".git" / "agentdeck"


def runtime(temp_dir: Path) -> Path:
    return temp_dir / f"agentdeck-{os.getuid()}"


def test_the_runtime_folder_is_made_for_the_user_alone(temp_dir: Path, tmp_path: Path) -> None:
    path = unixsock.socket_path(long_state_dir(tmp_path), "daemon.sock")
    assert path.parent == runtime(temp_dir)
    info = os.lstat(path.parent)
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o700
    assert info.st_uid == os.getuid()


def test_a_runtime_folder_of_ours_that_others_may_only_read_is_tightened(
        temp_dir: Path, tmp_path: Path) -> None:
    runtime(temp_dir).mkdir(mode=0o755)
    unixsock.socket_path(long_state_dir(tmp_path), "daemon.sock")
    assert stat.S_IMODE(os.lstat(runtime(temp_dir)).st_mode) == 0o700


def refused_untouched(temp_dir: Path, tmp_path: Path, why: str) -> None:
    folder = runtime(temp_dir)
    before = os.lstat(folder)
    with pytest.raises(OperationError, match=why) as raised:
        unixsock.socket_path(long_state_dir(tmp_path), "daemon.sock")
    assert str(folder) in str(raised.value) and "TMPDIR" in str(raised.value)
    after = os.lstat(folder)  # never used, never changed
    assert (after.st_mode, after.st_uid) == (before.st_mode, before.st_uid)
    if stat.S_ISDIR(after.st_mode) and not stat.S_ISLNK(after.st_mode):
        assert os.listdir(folder) == []


def test_a_runtime_folder_of_another_user_is_refused(temp_dir: Path, tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("making a folder of another user needs root")
    runtime(temp_dir).mkdir(mode=0o700)
    os.chown(runtime(temp_dir), NOBODY, -1)
    refused_untouched(temp_dir, tmp_path, f"belongs to another user \\(uid {NOBODY}\\)")


def test_a_world_writable_runtime_folder_of_another_user_is_refused(
        temp_dir: Path, tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("making a folder of another user needs root")
    runtime(temp_dir).mkdir()
    runtime(temp_dir).chmod(0o777)
    os.chown(runtime(temp_dir), NOBODY, -1)
    refused_untouched(temp_dir, tmp_path, "another user")


def test_a_world_writable_runtime_folder_is_refused(temp_dir: Path, tmp_path: Path) -> None:
    runtime(temp_dir).mkdir()
    runtime(temp_dir).chmod(0o777)  # ours, but anyone could have put a socket or a link in it
    refused_untouched(temp_dir, tmp_path, "may be written by others \\(mode 0777\\)")


def test_a_link_in_place_of_the_runtime_folder_is_refused(temp_dir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    runtime(temp_dir).symlink_to(elsewhere)
    refused_untouched(temp_dir, tmp_path, "is a link or not a folder")
    assert os.listdir(elsewhere) == []


def test_a_file_in_place_of_the_runtime_folder_is_refused(temp_dir: Path, tmp_path: Path) -> None:
    runtime(temp_dir).write_text("")
    refused_untouched(temp_dir, tmp_path, "is a link or not a folder")


def test_the_daemon_refuses_a_hostile_runtime_folder_in_one_line(tmp_path: Path) -> None:
    """End to end: `daemon status` (and so the dashboard, `up`, `start`) in a repository whose
    sockets go to the temp dir, where a world-writable folder waits."""
    shared = tmp_path / "tmp"
    shared.mkdir()
    deep = tmp_path / ("r" * 110)
    deep.mkdir()
    repo = make_repo(deep)
    folder = shared / f"agentdeck-{os.getuid()}"
    folder.mkdir()
    folder.chmod(0o777)
    result = run_agentdeck("daemon", "restart", cwd=repo, env={"TMPDIR": str(shared)})
    assert_one_line_error(result, 1, str(folder), "may be written by others")
    assert os.listdir(folder) == [] and stat.S_IMODE(folder.stat().st_mode) == 0o777


# -- a failure rolls back what it made -----------------------------------------------------------


def test_a_worktree_that_cannot_be_made_leaves_no_branch(repo: Path) -> None:
    write_fleet(repo, "version: 1\nworktrees: /proc/{name}\ndefaults: {agent: shell}\n"
                      "agents: [{name: a1, branch: feat/a}, {name: a2, branch: feat/b}]\n")
    result = run_agentdeck("up", "--no-start", cwd=repo)
    assert result.code == 1 and "Traceback" not in result.err
    assert all(line.startswith("agentdeck: error: a") for line in result.err.splitlines())
    # git made each branch before it failed on the folder: agentdeck made them, so it deletes them
    assert git(repo, "for-each-ref", "--format=%(refname)", "refs/heads") == "refs/heads/main\n"
    assert git(repo, "worktree", "list").count("\n") == 1
    registry = json.loads((repo / ".git" / "agentdeck" / "registry.json").read_text())
    assert registry["agents"] == {}


def test_folders_made_for_a_worktree_that_failed_are_removed(repo: Path) -> None:
    # a ref lock another git holds: `worktree add -b` fails after the folders were made
    lock = repo / ".git" / "refs" / "heads" / "feat" / "a.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("")
    write_fleet(repo, "version: 1\nworktrees: ../new1/new2/{name}\ndefaults: {agent: shell}\n"
                      "agents: [{name: a1, branch: feat/a}]\n")
    result = run_agentdeck("up", "--no-start", cwd=repo)
    assert_one_line_error(result, 1, "a1")
    assert not (repo.parent / "new1").exists()
    assert lock.exists()  # not ours: left as it was
    assert git(repo, "for-each-ref", "--format=%(refname)", "refs/heads") == "refs/heads/main\n"


# -- names that differ only in case from an agent made earlier -----------------------------------


def test_an_agent_differing_only_in_case_from_one_made_is_refused(repo: Path) -> None:
    write_fleet(repo, "version: 1\ndefaults: {agent: shell}\n"
                      "agents: [{name: a1, branch: feat/a1}]\n")
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    write_fleet(repo, "version: 1\ndefaults: {agent: shell}\n"
                      "agents: [{name: A1, branch: feat/big-a1}]\n", name="other.yaml")
    result = run_agentdeck("up", "--no-start", "-f", "other.yaml", cwd=repo)
    assert_one_line_error(result, 2, "'A1'", "'a1'", "only in case")
    assert git(repo, "branch", "--list", "feat/big-a1") == ""
    ctx = open_repo(repo)
    check = spawning.check_name(ctx, "A1")  # the spawn dialog says so as the name is typed
    assert not check.ok and "a1" in check.message


def test_the_spawn_dialog_refuses_gits_special_names(repo: Path) -> None:
    ctx = open_repo(repo)
    for name in ("@", "HEAD", "FETCH_HEAD", "-x", "refs/heads/main", "x\n"):
        assert not spawning.check_branch(ctx, name).ok, name
    assert spawning.check_branch(ctx, "feat/new").ok


# -- what must still be accepted -----------------------------------------------------------------


def test_ordinary_values_still_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    themes = tmp_path / "config" / "agentdeck" / "themes"
    themes.mkdir(parents=True)
    (themes / "mine.yaml").write_text("primary: '#ff0000'\n")
    (themes / "file-name.yaml").write_text("name: given-name\nprimary: '#00ff00'\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for theme in ("agentdeck-dark", "agentdeck-light", "nord", "mine", "given-name"):
        for key in ("ctrl+right_square_bracket", "f12", "alt+q", "ctrl+full_stop", "ctrl+@"):
            path = tmp_path / "fleet.yaml"
            path.write_text(
                "version: 1\nbudget: {usd: 2.5, tokens: 100000}\n"
                "notify: {ntfy: {topic: my-agents_1, server: 'https://ntfy.example:8443'}, "
                "webhook: 'https://hooks.example/T0/B1?x=1'}\n"
                f"dashboard: {{theme: {theme}, release_key: '{key}'}}\n"
                "defaults: {ports: {vars: [PORT, VITE_PORT], extra: [API_PORT]}}\n"
                "agents: [{name: A1, branch: feat/A1}, {name: b.2, branch: fix/x@y, "
                "budget: {usd: 1}}]\n")
            fleet = load_fleet(path)
            assert fleet.dashboard.theme == theme and fleet.dashboard.release_key == key
    assert fleet.budget.usd == 2.5 and fleet.notify.ntfy_topic == "my-agents_1"
    assert [a.branch for a in fleet.agents] == ["feat/A1", "fix/x@y"]


def test_textual_themes_known_to_core_are_textuals() -> None:
    from textual.theme import BUILTIN_THEMES

    assert set(TEXTUAL_THEMES) == set(BUILTIN_THEMES)


@pytest.mark.parametrize("branch", ["main", "feat/a", "x@y", "@x", "HEADS", "release/1.2",
                                    "fix/ünïcode", "a-b_c.d"])
def test_ordinary_branches_pass(branch: str) -> None:
    assert branch_problem(branch) is None


@pytest.mark.parametrize("key", ["ctrl+right_square_bracket", "f1", "f24", "alt+q", "ctrl+a",
                                 "ctrl+shift+up", "hyper+up", "ctrl+slash", "pageup"])
def test_ordinary_release_keys_pass(key: str) -> None:
    assert key_problem(key) is None


def test_an_env_value_ending_in_a_newline_stays_on_its_line(tmp_path: Path) -> None:
    block = render_block({"A": "x\n", "B": "plain"})
    assert 'A="x\\n"\n' in block and "B=plain\n" in block
    (tmp_path / ".env.local").write_text(block)
    assert read_env(tmp_path / ".env.local") == {"A": "x\n", "B": "plain"}


def test_a_postgres_url_without_a_host_keeps_its_slashes() -> None:
    # the local socket: Python's urlunsplit drops `//` for schemes it does not know
    assert PgUrl("postgres:///app").with_dbname("app_a1").raw == "postgres:///app_a1"
    assert PgUrl("postgres:///app").with_search_path("s").raw.startswith("postgres:///app?")
