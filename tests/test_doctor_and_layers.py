"""`agentdeck doctor`, the core/UI layering contract, and lint cleanliness."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_agentdeck

ROOT = Path(__file__).parent.parent


def test_doctor_reports_each_tool_with_how_to_install(tmp_path: Path) -> None:
    # A PATH with git only: every agent CLI is missing and says how to install it.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    result = run_agentdeck("doctor", cwd=tmp_path, env={"PATH": str(bin_dir)})
    assert result.code == 0, result.err
    out = result.out
    assert "ok  git" in out and "git 2." in out
    for kind, install in [("claude", "npm install -g @anthropic-ai/claude-code"),
                          ("codex", "npm install -g @openai/codex"),
                          ("aider", "aider-install"),
                          ("gemini", "npm install -g @google/gemini-cli")]:
        assert f"agent: {kind}" in out and install in out
    assert "postgres client" in out and "postgres server" in out
    assert "docker engine" in out and "docker not installed" in out


def test_doctor_finds_what_is_installed(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_claude = bin_dir / "claude"
    fake_claude.write_text("#!/bin/sh\necho '2.1.328 (Claude Code)'\n")
    fake_claude.chmod(0o755)
    result = run_agentdeck("doctor", cwd=tmp_path,
                           env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    line = next(ln for ln in result.out.splitlines() if "agent: claude" in ln)
    assert line.startswith("ok  agent: claude")
    assert line.endswith(f"{fake_claude} (2.1.328 (Claude Code)); verified with 2.1.328")
    # a kind whose detector is read from its source only says so, and why
    crush = next(ln for ln in result.out.splitlines() if "agent: crush" in ln)
    assert "unverified: read from its source" in crush


def test_doctor_fails_without_git(tmp_path: Path) -> None:
    result = run_agentdeck("doctor", cwd=tmp_path, env={"PATH": str(tmp_path)})
    assert result.code == 1 and "ERR git" in result.out


def test_core_never_imports_textual_ui_daemon_or_cli() -> None:
    """core/ is the bottom layer: loading every module of it pulls in none of textual,
    agentdeck.ui, agentdeck.daemon or agentdeck.cli (and the CLI itself loads without textual)."""
    code = (
        "import sys, pkgutil, importlib\n"
        "sys.modules['textual'] = None  # any import of it now raises\n"
        "import agentdeck.core as core\n"
        "names = [m.name for m in pkgutil.walk_packages(core.__path__, 'agentdeck.core.')]\n"
        "[importlib.import_module(n) for n in names]\n"
        "above = ('agentdeck.ui', 'agentdeck.daemon', 'agentdeck.cli', 'textual')\n"
        "leaks = sorted(m for m in sys.modules if m.startswith(above) and sys.modules[m])\n"
        "assert not leaks, f'core pulls in {leaks}'\n"
        "import agentdeck.cli\n"
        "print(len(names))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 10


def test_ruff_is_clean() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff not installed (pip install -e '.[test]' installs it)")
    result = subprocess.run([ruff, "check", "agentdeck", "tests", "bench"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout
