"""Shared fixtures: real git repositories with an origin, the CLI in-process or as a
subprocess, and a real PostgreSQL cluster started with initdb/pg_ctl on a free port."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest

from agentdeck.cli import main
from agentdeck.core.engine.doctor import find_pg_binary

# Tests never read the developer's git configuration, and always have an identity.
os.environ.update({
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
})
# Nor the runner's terminal size: pytest-xdist's workers have COLUMNS=80, which a program in a
# test's 60x12 session would believe over its terminal (the product's agents never get it).
for _size in ("COLUMNS", "LINES"):
    os.environ.pop(_size, None)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def make_repo(root: Path, name: str = "app", files: dict[str, str] | None = None) -> Path:
    """A bare `origin` with one commit on main, and a clone of it at root/name."""
    origin, clone = root / f"{name}-origin.git", root / name
    git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(origin))
    git(root, "clone", "--quiet", str(origin), str(clone))
    content = {
        "README.md": "# app\n",
        "src/app.py": "print('hello')\n",
        "src/types/__init__.py": "",
        ".gitignore": ".env\nnode_modules/\n",
    }
    content.update(files or {})
    for rel, text in content.items():
        path = clone / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(clone, "add", ".")
    git(clone, "commit", "--quiet", "-m", "first")
    git(clone, "push", "--quiet", "origin", "HEAD:main")
    git(clone, "remote", "set-head", "origin", "main")
    (clone / ".env").write_text("SECRET=from-main\n")
    return clone


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path)


def commit(worktree: Path, rel: str, text: str, message: str | None = None) -> None:
    """Write a file in a worktree and commit it there."""
    path = worktree / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    git(worktree, "add", rel)
    git(worktree, "commit", "-qm", message or f"change {rel}")


def wait(condition: Callable[[], object], what: str = "the condition", timeout: float = 20.0,
         poll: float = 0.02) -> None:
    """Block until `condition()` holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll)


async def until(pilot: Any, condition: Callable[[], object], timeout: float = 20.0) -> None:
    """The same inside a Pilot test: the app keeps running while it waits."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await pilot.pause(0.05)


async def steady_cursors(pilot: Any) -> None:
    """Text cursors drawn without blinking, for a snapshot: a blinking cursor is drawn or not
    depending on when the picture is taken (a spawn dialog's snapshot failed so under load)."""
    from textual.widgets import Input, TextArea

    for field_ in pilot.app.screen.query(Input):
        field_.cursor_blink = False
    for area in pilot.app.screen.query(TextArea):
        area.cursor_blink = False
    await pilot.pause()


def write_fleet(repo: Path, text: str, name: str = "agentdeck.yaml") -> Path:
    path = repo / name
    path.write_text(text)
    return path


def scripted_fleet(tmp_path: Path, kind: str, program: str, rest: str, args: str = "") -> Path:
    """A repository whose fleet runs `program` (Python source) as agent kind `kind`, worktrees
    beside it as ../wt-NAME; `rest` is the fleet file after its `commands:` line."""
    repo = make_repo(tmp_path)
    script = tmp_path / f"{kind}.py"
    script.write_text(program)
    command = f"{sys.executable} {script}" + (f" {args}" if args else "")
    write_fleet(repo, f"version: 1\nworktrees: ../wt-{{name}}\n"
                      f"commands: {{{kind}: \"{command}\"}}\n" + rest)
    return repo


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """The CLI in this process: `cli("up", cwd=repo)`."""

    def run(*args: str, cwd: Path) -> Run:
        monkeypatch.chdir(cwd)
        code = main(list(args))
        out, err = capsys.readouterr()
        return Run(code, out, err)

    return run


def run_agentdeck(*args: str, cwd: Path, env: dict[str, str] | None = None,
                  timeout: float = 120) -> Run:
    """The CLI as a user runs it: a separate process."""
    proc = subprocess.run([sys.executable, "-m", "agentdeck", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})
    return Run(proc.returncode, proc.stdout, proc.stderr)


def assert_one_line_error(result: Run, code: int, *needles: str) -> None:
    assert result.code == code, (result.code, result.out, result.err)
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1, result.err
    assert lines[0].startswith("agentdeck: error: "), lines[0]
    assert "Traceback" not in result.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- PostgreSQL ---------------------------------------------------------------------------------


@dataclass
class PgServer:
    port: int
    data: Path

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def sql(self, statement: str, dbname: str = "postgres") -> list[tuple[object, ...]]:
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            cur = conn.execute(statement)
            return cur.fetchall() if cur.description else []

    def databases(self) -> set[str]:
        return {row[0] for row in self.sql("SELECT datname FROM pg_database")}  # type: ignore[misc]


def _server_user() -> list[str]:
    """initdb refuses to run as root: run the server as an unprivileged user then."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return ["runuser", "-u", name, "--"]
        except KeyError:
            continue
    pytest.fail("running as root and no unprivileged user (postgres/nobody) to run PostgreSQL")


def alive(pid: int) -> bool:
    """The process runs (a zombie does not: killed processes that were re-parented wait for
    init to reap them, which some inits do only every second or so). Asked as it may end."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def requires(what: str, missing: str | None) -> None:
    """Go on when `missing` is None. Else skip, saying why and how to install `what` — or,
    under CI, where .ci/run installed everything, fail: a tool that did not install must not
    pass as a skip."""
    if missing is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what}: {missing}")
    pytest.skip(f"{what}: {missing}")


# Markers, set here by what a test needs (so `pytest -m "not e2e and not browser"` runs the
# quick part): the real agent CLIs, PostgreSQL, an sshd, bubblewrap, Chromium
_NEEDS = {
    "sshd": ("test_remote_hosts", "test_remote_panes", "test_agents_everywhere",
             "test_sshd_helper"),
    "bwrap": ("test_sandbox", "test_fence"),
    "browser": ("test_serve_app", "test_serve_pairing", "test_serve_scales", "test_serve_tls"),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.path.stem
        if "e2e" in item.path.parts:
            item.add_marker("e2e")
        if "pg" in getattr(item, "fixturenames", ()):
            item.add_marker("pg")
        for marker, modules in _NEEDS.items():
            if module in modules:
                item.add_marker(marker)


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    initdb, pg_ctl = find_pg_binary("initdb"), find_pg_binary("pg_ctl")
    requires("PostgreSQL", None if initdb and pg_ctl else
             "its server binaries (initdb, pg_ctl) are not found; .ci/run installs them")
    assert initdb and pg_ctl
    prefix = _server_user()
    data = Path(tempfile.mkdtemp(prefix="agentdeck-pg-"))
    if prefix:
        shutil.chown(data, user=prefix[2])
    port = free_port()
    cluster = data / "cluster"
    subprocess.run([*prefix, initdb, "-D", str(cluster), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([*prefix, pg_ctl, "-D", str(cluster), "-l", str(data / "log"), "-o", options,
                    "-w", "-t", "60", "start"], check=True, capture_output=True)
    try:
        yield PgServer(port, data)
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(cluster), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


_counter = iter(range(1, 1_000_000))


@pytest.fixture
def pg_base(pg: PgServer) -> str:
    """A fresh base database with a table and a row, for one test: its name."""
    name = f"app{next(_counter)}_{os.getpid()}"
    pg.sql(f'CREATE DATABASE "{name}"')
    pg.sql("CREATE TABLE products (id int PRIMARY KEY, name text); "
           "INSERT INTO products VALUES (1, 'tea')", dbname=name)
    return name
