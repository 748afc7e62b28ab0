"""Files agentdeck writes or copies into or out of a worktree never follow a link that the agent
or a branch controls (issue 29, item 5): env_copy, the managed env_file block, a sqlite copy and
the env files read into an agent's environment. Each case runs `agentdeck up` on a real
repository and checks that nothing was written anywhere outside the worktree."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from agentdeck.core.errors import OperationError
from agentdeck.core.files import open_under, write_under
from tests.conftest import Run, assert_one_line_error, git, write_fleet

Cli = Callable[..., Run]


def fleet(repo: Path, defaults: str = "env_copy: [.env]", branch: str = "feat/x") -> None:
    write_fleet(repo, "version: 1\nworktrees: ../wt-{name}\n"
                      f"defaults: {{agent: shell, ports: {{start: 24901}}, {defaults}}}\n"
                      f"agents:\n  - {{name: a, branch: {branch}}}\n")


def commit_on_branch(repo: Path, branch: str, links: dict[str, str],
                     files: dict[str, str] | None = None) -> None:
    """A branch whose commit holds these links (name -> target) and files, made in a worktree
    of its own (the main checkout's untracked .env stays where it is)."""
    place = repo.parent / "branch-maker"
    git(repo, "worktree", "add", "-q", "-b", branch, str(place), "main")
    for rel, text in (files or {}).items():
        (place / rel).parent.mkdir(parents=True, exist_ok=True)
        (place / rel).write_text(text)
    for rel, target in links.items():
        (place / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, place / rel)
    git(place, "add", "-f", "--", *links, *(files or {}))
    git(place, "commit", "-qm", "links")
    git(repo, "worktree", "remove", "--force", str(place))


def snapshot(tmp_path: Path, repo: Path) -> dict[str, tuple[int, int, int, str]]:
    """Every entry under tmp_path except git's own folders and the agent's worktree: type,
    mode, size and (for small files) content, links by their target. Nothing follows a link."""
    skip = {repo / ".git", repo.parent / "app-origin.git", repo.parent / "wt-a"}
    state = {}
    for folder, dirs, names in os.walk(tmp_path):
        here = Path(folder)
        dirs[:] = [d for d in dirs if here / d not in skip]
        for name in (*dirs, *names):
            path = here / name
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                detail = os.readlink(path)
            elif stat.S_ISREG(info.st_mode) and info.st_size < 1 << 20:
                detail = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                detail = str(info.st_mtime_ns)
            state[str(path.relative_to(tmp_path))] = (stat.S_IFMT(info.st_mode),
                                                      stat.S_IMODE(info.st_mode), info.st_size,
                                                      detail)
    return state


def exclude_of(repo: Path) -> str:
    return (repo / ".git" / "info" / "exclude").read_text()


def up_refused(tmp_path: Path, repo: Path, cli: Cli, *needles: str) -> Run:
    """`up` fails for agent a with one error line, leaves no worktree, and writes nothing
    outside it (files beside the repository, the shared info/exclude)."""
    before, exclude = snapshot(tmp_path, repo), exclude_of(repo)
    result = cli("up", "--no-start", cwd=repo)
    assert_one_line_error(result, 1, "a: cannot", *needles)
    assert "Error:" not in result.err and "internal error" not in result.err
    assert not (repo.parent / "wt-a").exists()  # rolled back
    assert snapshot(tmp_path, repo) == before
    assert exclude_of(repo) == exclude
    return result


# -- the branch side: a link committed where agentdeck writes --------------------------------


@pytest.mark.parametrize("exists", [False, True])
def test_committed_env_link_gets_no_secrets(tmp_path: Path, repo: Path, cli: Cli,
                                            exists: bool) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    if exists:
        (outside / "stolen.env").write_text("mine\n")
    commit_on_branch(repo, "feat/x", {".env": str(outside / "stolen.env")})
    fleet(repo)
    result = up_refused(tmp_path, repo, cli, "symbolic link", str(outside / "stolen.env"),
                        "git rm .env")
    assert "from-main" not in result.out + result.err
    assert [p.name for p in outside.iterdir()] == (["stolen.env"] if exists else [])
    if exists:
        assert (outside / "stolen.env").read_text() == "mine\n"


def test_env_file_under_a_committed_folder_link_is_refused(tmp_path: Path, repo: Path,
                                                           cli: Cli) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    commit_on_branch(repo, "feat/x", {"cfg": str(outside)})
    fleet(repo, "env_file: cfg/.env.local")
    up_refused(tmp_path, repo, cli, "cfg is a symbolic link", str(outside))
    assert list(outside.iterdir()) == []


def test_env_file_under_a_dangling_folder_link_is_one_clear_line(tmp_path: Path, repo: Path,
                                                                 cli: Cli) -> None:
    missing = tmp_path / "nowhere" / "cfg"  # the target folder does not exist
    commit_on_branch(repo, "feat/x", {"cfg": str(missing)})
    fleet(repo, "env_file: cfg/.env.local")
    result = up_refused(tmp_path, repo, cli, "cfg is a symbolic link", str(missing))
    assert "FileExistsError" not in result.err
    assert not (tmp_path / "nowhere").exists()


def test_a_relative_link_out_of_the_worktree_is_refused(tmp_path: Path, repo: Path,
                                                        cli: Cli) -> None:
    commit_on_branch(repo, "feat/x", {".env": "../app/.env"})  # main's own secrets file
    fleet(repo)
    up_refused(tmp_path, repo, cli, "symbolic link")
    assert (repo / ".env").read_text() == "SECRET=from-main\n"


def test_sqlite_target_behind_a_committed_link_is_refused(tmp_path: Path, repo: Path,
                                                          cli: Cli) -> None:
    import sqlite3

    with sqlite3.connect(repo / "dev.sqlite3") as db:
        db.execute("CREATE TABLE t (x int)")
    outside = tmp_path / "outside"
    outside.mkdir()
    commit_on_branch(repo, "feat/x", {"db": str(outside)})
    fleet(repo, "database: {mode: sqlite, path: db/dev.sqlite3}")
    up_refused(tmp_path, repo, cli, "db is a symbolic link")
    assert list(outside.iterdir()) == []


# -- the main side: an untracked link or special file named in env_copy -----------------------


def test_untracked_link_to_a_key_is_not_copied(tmp_path: Path, repo: Path, cli: Cli) -> None:
    key = tmp_path / "home" / ".ssh" / "id_ed25519"  # a stand-in for the user's own key
    key.parent.mkdir(parents=True)
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    os.symlink(key, repo / "keylink")
    fleet(repo, "env_copy: [.env, keylink]")
    result = up_refused(tmp_path, repo, cli, "keylink", "symbolic link", "env_copy")
    assert "PRIVATE KEY" not in result.out + result.err


def test_untracked_link_to_proc_environ_is_not_copied(tmp_path: Path, repo: Path,
                                                      cli: Cli) -> None:
    os.symlink("/proc/self/environ", repo / "envlink")
    fleet(repo, "env_copy: [envlink]")
    up_refused(tmp_path, repo, cli, "envlink", "/proc/self/environ")


def test_a_link_in_a_folder_on_the_way_is_refused(tmp_path: Path, repo: Path, cli: Cli) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / ".env").write_text("TOKEN=elsewhere\n")
    os.symlink(secrets, repo / "conf")
    fleet(repo, "env_copy: [conf/.env]")
    up_refused(tmp_path, repo, cli, "conf is a symbolic link")


def test_a_fifo_is_refused_without_waiting(tmp_path: Path, repo: Path, cli: Cli) -> None:
    os.mkfifo(repo / "pipe.env")  # opening it would wait for a writer forever
    fleet(repo, "env_copy: [pipe.env]")
    up_refused(tmp_path, repo, cli, "pipe.env", "a FIFO, not a regular file")


# -- size ----------------------------------------------------------------------------------------


def test_a_big_sparse_file_is_refused_unread(tmp_path: Path, repo: Path, cli: Cli) -> None:
    with (repo / "big.env").open("wb") as handle:
        handle.truncate(2 << 30)  # 2 GB that take no disk
    fleet(repo, "env_copy: [.env, big.env]")
    up_refused(tmp_path, repo, cli, "big.env", "2 GB", "env_copy_max (1 MB)")


def test_a_file_under_the_limit_is_copied(tmp_path: Path, repo: Path, cli: Cli) -> None:
    with (repo / "mid.env").open("wb") as handle:
        handle.truncate(600 << 10)
    fleet(repo, "env_copy: [mid.env], env_copy_max: 700KB")
    assert cli("up", "--no-start", cwd=repo).code == 0
    assert (repo.parent / "wt-a" / "mid.env").read_bytes() == bytes(600 << 10)


def test_the_limit_is_the_fleets(tmp_path: Path, repo: Path, cli: Cli) -> None:
    (repo / "mid.env").write_bytes(b"x" * (600 << 10))
    fleet(repo, "env_copy: [mid.env], env_copy_max: 512KB")
    up_refused(tmp_path, repo, cli, "600 KB", "env_copy_max (512 KB)")


@pytest.mark.parametrize("value", ["lots", "-1", "0", "1TBB", "true", "[1]"])
def test_a_bad_limit_is_a_config_error(repo: Path, cli: Cli, value: str) -> None:
    fleet(repo, f"env_copy_max: {value}")
    assert_one_line_error(cli("up", "--no-start", cwd=repo), 2, "env_copy_max")
    assert not (repo.parent / "wt-a").exists()


# -- the normal case still works ---------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o600, 0o640])
def test_a_real_env_is_copied_with_its_mode(tmp_path: Path, repo: Path, cli: Cli,
                                            mode: int) -> None:
    os.chmod(repo / ".env", mode)
    (repo / "conf").mkdir()
    (repo / "conf" / "app.env").write_text("NESTED=1\n")
    commit_on_branch(repo, "feat/x", {"docs/readme-link": "../README.md"})  # links elsewhere
    fleet(repo, "env_copy: [.env, conf/app.env], env_file: cfg/.env.local")
    before = snapshot(tmp_path, repo)
    assert cli("up", "--no-start", cwd=repo).code == 0
    tree = repo.parent / "wt-a"
    assert (tree / ".env").read_text() == "SECRET=from-main\n"
    assert stat.S_IMODE((tree / ".env").stat().st_mode) == mode
    assert (tree / "conf" / "app.env").read_text() == "NESTED=1\n"
    assert "AGENTDECK_AGENT=a" in (tree / "cfg" / ".env.local").read_text()
    assert stat.S_IMODE((tree / "cfg" / ".env.local").stat().st_mode) == 0o600
    assert not [p for p in tree.rglob(".*.tmp")]  # no temporary file left
    assert snapshot(tmp_path, repo) == before
    assert git(tree, "status", "--porcelain") == ""


# -- reading an agent's env files ----------------------------------------------------------------


def test_a_link_the_agent_plants_is_not_read_into_its_environment(tmp_path: Path, repo: Path,
                                                                   cli: Cli) -> None:
    from agentdeck.core.agents.launch import environment_for
    from agentdeck.core.fleet.registry import Registry
    from agentdeck.core.fleet.schema import load_fleet
    from agentdeck.core.git.repo import open_repo

    fleet(repo)
    assert cli("up", "--no-start", cwd=repo).code == 0
    ctx = open_repo(repo)
    loaded = load_fleet(repo / "agentdeck.yaml")
    rec = Registry(ctx.state_dir).load().agents["a"]
    assert environment_for(loaded, rec)["SECRET"] == "from-main"
    secret = tmp_path / "aws-credentials"
    secret.write_text("AWS_SECRET=not-for-agents\n")
    tree = repo.parent / "wt-a"
    (tree / ".env").unlink()
    os.symlink(secret, tree / ".env")  # what an agent in its worktree can do
    with pytest.raises(OperationError, match="symbolic link"):
        environment_for(loaded, rec)


# -- the primitives ------------------------------------------------------------------------------


def test_write_under_leaves_nothing_when_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    os.symlink(outside, root / "link")
    with pytest.raises(OperationError, match="link is a symbolic link"):
        write_under(root, "link/sub/x", "data")
    with pytest.raises(OSError):  # a failure after it made folders: they go again
        write_under(root, "new/deeper/" + "x" * 300, "data")
    assert sorted(p.name for p in root.iterdir()) == ["link"]
    assert list(outside.iterdir()) == []


def test_write_under_replaces_a_link_at_the_end_never_writes_through_it(tmp_path: Path) -> None:
    root, target = tmp_path / "root", tmp_path / "target"
    root.mkdir()
    target.write_text("mine\n")
    os.symlink(target, root / "f")
    with pytest.raises(OperationError):
        write_under(root, "f", "data")
    assert target.read_text() == "mine\n"
    assert write_under(root, "g", "one", replace=False)
    assert not write_under(root, "g", "two", replace=False)  # never overwritten
    assert (root / "g").read_text() == "one"
    assert sorted(p.name for p in root.iterdir()) == ["f", "g"]


def test_open_under_refuses_devices_and_dotdot(tmp_path: Path) -> None:
    os.symlink("/dev/zero", tmp_path / "zero")
    with pytest.raises(OperationError, match="symbolic link"):
        open_under(tmp_path, "zero")
    with pytest.raises(OperationError, match="not a path inside"):
        open_under(tmp_path, "../etc/passwd")
    with pytest.raises(OperationError, match="a device"):
        open_under(Path("/dev"), "null")
    assert open_under(tmp_path, "absent/file") is None
