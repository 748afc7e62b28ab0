"""A plain `pip install agentdeck` leaves out the `serve` extra (textual-serve, aiohttp …) and
the `postgres` extra (psycopg): everything else runs without them, and what needs one says in one
line which to install, before it changes anything. A plain install is played here by a
PYTHONPATH folder whose stand-ins for those packages fail to import as a missing package does
(building a venv without the extras for each run would take a minute)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentdeck.core.git.repo import open_repo
from agentdeck.daemon import lifecycle
from tests.conftest import (
    PgServer,
    assert_one_line_error,
    git,
    make_repo,
    run_agentdeck,
    wait,
    write_fleet,
)
from tests.test_first_use import Tty

# what the extras bring (segno and cryptography are the serve extra's too); jinja2 comes only
# with textual-serve
LEFT_OUT = ("textual_serve", "aiohttp", "aiohttp_jinja2", "jinja2", "segno", "cryptography",
            "psycopg", "psycopg_binary", "psycopg_c")
# the modules that serve a browser: the only ones that may import the serve extra at their top
SERVE_ONLY = {"agentdeck.serve", "agentdeck.web.access", "agentdeck.web.pairing",
              "agentdeck.web.push"}
SERVE_LINE = "agentdeck serve needs textual-serve, which is not installed: " \
             "pip install 'agentdeck[serve]'"
PG_LINE = "needs psycopg, which is not installed: pip install 'agentdeck[postgres]'"


@pytest.fixture
def plain(tmp_path: Path) -> dict[str, str]:
    """The environment of a process that runs as a plain install would."""
    folder = tmp_path / "plain-install"
    for name in LEFT_OUT:
        (folder / name).mkdir(parents=True)
        (folder / name / "__init__.py").write_text(
            "raise ModuleNotFoundError(f'No module named {__name__!r}', name=__name__)\n")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(folder),
                                                        os.environ.get("PYTHONPATH")]))}


def test_the_stand_ins_fail_as_a_missing_package_does(plain: dict[str, str]) -> None:
    probe = subprocess.run([sys.executable, "-c", "import psycopg"], capture_output=True,
                           text=True, env={**os.environ, **plain}, timeout=60)
    assert "ModuleNotFoundError: No module named 'psycopg'" in probe.stderr


def test_without_the_extras_every_module_but_the_servers_loads(plain: dict[str, str],
                                                               tmp_path: Path) -> None:
    """Every module of agentdeck imports (the dashboard, the demo, the CLI, the daemon, the
    engine …) but the four that are the browser server, and none loads an extra."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import agentdeck\n"
        "failed = []\n"
        "for m in pkgutil.walk_packages(agentdeck.__path__, 'agentdeck.'):\n"
        "    if m.name == 'agentdeck.__main__':\n"
        "        continue  # (it runs the CLI)\n"
        "    try:\n"
        "        importlib.import_module(m.name)\n"
        "    except ImportError:\n"
        "        failed.append(m.name)\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {LEFT_OUT!r})\n"
        "print(sorted(failed), loaded)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, env={**os.environ, **plain}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{sorted(SERVE_ONLY)} []", result.stdout


def test_a_plain_install_runs_its_commands_and_doctor_names_the_extras(
        plain: dict[str, str], tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    helped = run_agentdeck("--help", cwd=repo, env=plain)
    assert helped.code == 0 and "serve" in helped.out, helped.err
    assert run_agentdeck("init", cwd=repo, env=plain).code == 0
    assert (repo / "agentdeck.yaml").is_file()
    listed = run_agentdeck("ls", cwd=repo, env=plain)
    assert listed.code == 0 and "no agents yet" in listed.out, listed.err
    doctor = run_agentdeck("doctor", cwd=repo, env=plain)
    assert doctor.code == 0, doctor.err
    lines = doctor.out.splitlines()
    for extra, package, use in (("serve", "textual-serve", "agentdeck serve"),
                                ("postgres", "psycopg", "a PostgreSQL database")):
        at = next(i for i, line in enumerate(lines) if f"extra: {extra}" in line)
        assert lines[at].startswith(" - ") and f"{package} not installed" in lines[at], lines[at]
        assert f"needed only for {use}" in lines[at]
        assert lines[at + 1].strip() == f"install: pip install 'agentdeck[{extra}]'"
    # with the extras (this suite's own install): present, with their versions
    full = run_agentdeck("doctor", cwd=repo).out
    assert "ok  extra: serve          textual-serve 1." in full, full
    assert "ok  extra: postgres       psycopg 3." in full, full


def test_serve_without_its_extra_says_so_and_starts_nothing(plain: dict[str, str],
                                                           tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    write_fleet(repo, "agents: [{name: w, agent: shell}]\n")
    state = open_repo(repo).state_dir
    assert_one_line_error(run_agentdeck("serve", cwd=repo, env=plain), 1, SERVE_LINE)
    assert_one_line_error(run_agentdeck("serve", "--background", "--pair", cwd=repo, env=plain),
                          1, SERVE_LINE)
    assert lifecycle.connect(state) is None and not (state / "daemon.pid").exists()
    for made in ("devices.json", "tls", "serve.pid", "serve.url"):  # no pairing, no server
        assert not (state / made).exists(), made
    # its paired devices are files of its own: listed without the server
    devices = run_agentdeck("serve", "devices", cwd=repo, env=plain)
    assert devices.code == 0 and "no paired devices" in devices.out, devices.err


@pytest.mark.parametrize("mode", ["postgres-db", "postgres-schema"])
def test_a_postgres_fleet_without_its_extra_says_so_before_making_anything(
        plain: dict[str, str], tmp_path: Path, mode: str) -> None:
    repo = make_repo(tmp_path)
    write_fleet(repo, "worktrees: ../wt-{name}\n"
                f"defaults: {{agent: shell, database: {{mode: {mode}, "
                "url: 'postgresql://127.0.0.1:1/app'}}\n"
                "agents: [{name: api, branch: feat/api}]\n")
    for argv in (["up", "--no-start"], ["up"], ["spawn", "web", "--no-save"]):
        name = argv[1] if argv[0] == "spawn" else "api"
        assert_one_line_error(run_agentdeck(*argv, cwd=repo, env=plain), 1,
                              f"agent {name}'s database ({mode}) {PG_LINE}")
    state = open_repo(repo).state_dir
    assert run_agentdeck("ls", "--names", cwd=repo, env=plain).out.strip() == ""
    assert not (tmp_path / "wt-api").exists() and not (tmp_path / "wt-web").exists()
    assert git(repo, "branch", "--list", "feat/*").strip() == ""
    assert lifecycle.connect(state) is None  # no session host started for agents not made


def test_an_extra_that_is_there_but_cannot_load_says_why(tmp_path: Path) -> None:
    """psycopg installed without a libpq to use (its `binary` part missing) is not called
    missing: its own reason is said, with the same install line."""
    folder = tmp_path / "broken-install" / "psycopg"
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("raise ImportError('no pq wrapper available')\n")
    env = {"PYTHONPATH": str(folder.parent)}
    doctor = run_agentdeck("doctor", cwd=tmp_path, env=env).out
    assert "psycopg cannot be loaded (no pq wrapper available) — needed only for" in doctor
    repo = make_repo(tmp_path)
    write_fleet(repo, "defaults: {agent: shell, database: {mode: postgres-db, "
                "url: 'postgresql://127.0.0.1:1/app'}}\nagents: [{name: api}]\n")
    assert_one_line_error(run_agentdeck("up", "--no-start", cwd=repo, env=env), 1,
                          "agent api's database (postgres-db) needs psycopg, which cannot be "
                          "loaded (no pq wrapper available): pip install 'agentdeck[postgres]'")


def test_dropping_a_database_without_its_extra_leaves_the_agent_whole(
        plain: dict[str, str], repo: Path, pg: PgServer, pg_base: str) -> None:
    """Made with psycopg, then `rm --drop-db` where it is missing: refused before the agent is
    stopped or its worktree removed; with psycopg again, it goes."""
    write_fleet(repo, "worktrees: ../wt-{name}\n"
                f"defaults: {{agent: shell, database: {{mode: postgres-db, "
                f"url: '{pg.url(pg_base)}'}}}}\n"
                "agents: [{name: api, branch: feat/api}]\n")
    made = run_agentdeck("up", "--no-start", cwd=repo)
    assert made.code == 0, made.err
    database = f"{pg_base}_api"
    assert database in pg.databases()
    assert_one_line_error(run_agentdeck("rm", "api", "--drop-db", cwd=repo, env=plain), 1,
                          f"dropping agent api's database {PG_LINE}")
    assert database in pg.databases() and (repo.parent / "wt-api").is_dir()
    assert run_agentdeck("ls", "--names", cwd=repo).out.split() == ["api"]
    gone = run_agentdeck("rm", "api", "--drop-db", cwd=repo)
    assert gone.code == 0, gone.err
    assert database not in pg.databases()


def test_the_demo_runs_from_a_plain_install(plain: dict[str, str], tmp_path: Path) -> None:
    """`agentdeck demo` — the dashboard, the session host, the scripted agents and their
    prompts — with neither extra: its three prompts show, and q quits it."""
    where = tmp_path / "demo"
    tty = Tty(["demo", "--dir", str(where)], tmp_path,
              {**plain, "AGENTDECK_DEMO_SPEED": "0.02"})
    try:
        wait(lambda: tty.shows("3 waiting"), "the demo's three prompts on the dashboard", 90)
        # its session host, which runs the agents, is a plain install's process too
        daemon = lifecycle.pid_of(where / "shop" / ".git" / "agentdeck")
        assert daemon is not None
        assert plain["PYTHONPATH"].encode() in Path(f"/proc/{daemon}/environ").read_bytes()
        tty.child.send("q")
        assert tty.ended() == 0, tty.text()
    finally:
        state = where / "shop" / ".git" / "agentdeck"
        if state.exists():
            lifecycle.stop(state)


def test_the_install_line_names_the_tool_that_installed_agentdeck():
    from agentdeck.core.errors import install_line

    assert install_line("serve", "/home/u/.venv") == "pip install 'agentdeck[serve]'"
    assert install_line("serve", "/home/u/.local/share/pipx/venvs/agentdeck") == (
        "pipx install --force 'agentdeck[serve]'")
    assert install_line("postgres", "/home/u/.local/share/uv/tools/agentdeck") == (
        "uv tool install --reinstall 'agentdeck[postgres]'")
