"""How the code is arranged, where it matters to behaviour: the CLI is a parser whose every
command is a function in agentdeck.commands; git is started in one place; files agentdeck owns
are replaced in one place (atomically, on disk first)."""

from __future__ import annotations

import argparse
import ast
import os
from pathlib import Path

import pytest

import agentdeck
from agentdeck.cli import _command, build_parser
from agentdeck.core.errors import AgentdeckError
from agentdeck.core.files import atomic_write

PACKAGE = Path(agentdeck.__file__).parent


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def test_every_command_runs_a_function_of_agentdeck_commands() -> None:
    parser = build_parser()
    commands = _subcommands(parser)
    assert len(commands) >= 20
    for name, sub in [("(none)", parser), *commands.items()]:
        where = sub.get_default("run")
        assert where, f"{name} has no command function"
        assert callable(_command(where)), name
    tree = ast.parse((PACKAGE / "cli.py").read_text())
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert functions == {"build_parser", "_bounded", "main", "_command"}, functions


def _calls(path: Path) -> list[tuple[str, ast.Call]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            out.append((ast.unparse(node.func), node))
    return out


def test_git_is_started_in_one_place() -> None:
    """Besides core/git/repo.py, only the demo's scripted agents (programs of their own, standing
    in for an agent CLI) run git."""
    starters = {"subprocess.run", "subprocess.Popen", "subprocess.check_output",
                "subprocess.call", "subprocess.check_call", "os.execvp", "pexpect.spawn"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in ("core/git/repo.py", "demo_agents/agent.py"):
            continue
        for func, call in _calls(path):
            if func in starters and call.args and isinstance(call.args[0], ast.List) and \
                    call.args[0].elts and ast.unparse(call.args[0].elts[0]) == "'git'":
                offenders.append(f"{rel}:{call.lineno}")
    assert not offenders, offenders


def test_files_are_replaced_in_one_place() -> None:
    offenders = [f"{path.relative_to(PACKAGE)}:{call.lineno}"
                 for path in PACKAGE.rglob("*.py") if path.name != "files.py"
                 for func, call in _calls(path)
                 if func in ("os.replace", "os.rename", "tempfile.mkstemp")
                 and "transcripts" not in path.name]  # log rotation: a rename, not a write
    assert not offenders, offenders


def test_a_failed_check_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    target = tmp_path / "agentdeck.yaml"
    target.write_text("version: 1\n")
    os.chmod(target, 0o640)

    def refuse(written: Path) -> None:
        assert written.read_text() == "broken"
        raise AgentdeckError("does not read back")

    with pytest.raises(AgentdeckError):
        atomic_write(target, "broken", check=refuse)
    assert target.read_text() == "version: 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agentdeck.yaml"]
    atomic_write(target, "version: 2\n")
    assert target.read_text() == "version: 2\n" and (target.stat().st_mode & 0o777) == 0o640


def test_every_module_imports() -> None:
    import importlib
    import pkgutil

    for module in pkgutil.walk_packages([str(PACKAGE)], "agentdeck."):
        if "demo_agents" not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)


@pytest.mark.parametrize("argv", [["--help"], ["ls"], ["ls", "--json"], ["ls", "--names"],
                                  ["hook", "claude"]])
def test_quick_commands_load_no_heavy_code(tmp_path: Path, argv: list[str]) -> None:
    """`ls` (shell completion runs it), `--help` and the per-tool-call hook stay fast by not
    importing Textual, YAML, the engine or the terminal emulators (measured: bench/ has no
    timing here, this is what makes it fast)."""
    import subprocess
    import sys

    from tests.conftest import make_repo

    repo = make_repo(tmp_path)
    probe = ("import sys, runpy\n"
             f"sys.argv = ['agentdeck', *{argv!r}]\n"
             "try:\n    runpy.run_module('agentdeck', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'yaml', "
             "'git', 'pyte', 'pyghostty', 'psycopg') or m in ('agentdeck.core.engine.engine', "
             "'agentdeck.core.fleet.schema', 'agentdeck.daemon.server', 'agentdeck.daemon.client', "
             "'agentdeck.core.screen.detect', 'pexpect'))\n"
             "print('HEAVY', heavy, file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True,
                            text=True, input="{}", timeout=60)
    assert "HEAVY []" in result.stderr, result.stderr


def test_ls_asks_a_running_daemon_without_its_client(tmp_path: Path) -> None:
    """With the session host running, `ls` shows each agent's live state from one hello, and
    still loads none of the heavy code (the detectors, the client, pexpect)."""
    import os
    import subprocess
    import sys

    from agentdeck.core.agents.sessions import SessionSpec
    from agentdeck.daemon import lifecycle
    from tests.conftest import make_repo, run_agentdeck

    repo = make_repo(tmp_path)
    state = repo / ".git" / "agentdeck"
    host = lifecycle.ensure(state, None)
    try:
        host.spawn(SessionSpec("w", [sys.executable, "-c", "import sys; sys.exit(3)"], str(repo),
                               dict(os.environ), agent="generic"))
        host.wait_for("w", lambda i: i.process == "exited")
        probe = ("import sys, runpy\nfrom agentdeck.commands import listing\n"
                 "from agentdeck.core.git.repo import open_repo\n"
                 "print(listing.live_states(open_repo('.')))\n"
                 "heavy = sorted(m for m in sys.modules if m in ('agentdeck.daemon.client', "
                 "'agentdeck.core.screen.detect', 'pexpect', 'textual', 'yaml'))\n"
                 "print('HEAVY', heavy)\n")
        result = subprocess.run([sys.executable, "-c", probe], cwd=repo, capture_output=True,
                                text=True, timeout=60)
        assert "{'w': 'exited (3)'}" in result.stdout and "HEAVY []" in result.stdout, (
            result.stdout + result.stderr)
        assert run_agentdeck("ls", cwd=repo).code == 0
    finally:
        host.close()
        lifecycle.stop(state)
