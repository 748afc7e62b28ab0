"""Shell completion: the bash script (zsh uses it through bashcompinit) completes commands,
a command's options, agent names where a command takes one and branches where an option does;
the fish script loads in fish where fish is installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import run_agentdeck, write_fleet


def complete(repo: Path, tmp_path: Path, *words: str) -> list[str]:
    """What bash offers for `agentdeck WORDS…` (the last word being typed)."""
    script = tmp_path / "agentdeck.bash"
    script.write_text(run_agentdeck("completion", "bash", cwd=repo).out)
    bindir = tmp_path / "bin"  # `agentdeck` as the script calls it
    bindir.mkdir(exist_ok=True)
    shim = bindir / "agentdeck"
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -m agentdeck \"$@\"\n")
    shim.chmod(0o755)
    quoted = " ".join(f"'{w}'" for w in ("agentdeck", *words))
    out = subprocess.run(
        ["bash", "-c", f"source {script}; COMP_WORDS=({quoted}); COMP_CWORD={len(words)}; "
         "_agentdeck; printf '%s\\n' \"${COMPREPLY[@]}\""],
        cwd=repo, capture_output=True, text=True, timeout=60,
        env={**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"})
    assert out.returncode == 0, out.stderr
    return [line for line in out.stdout.splitlines() if line]


def test_bash_completes_commands_options_agents_and_branches(repo: Path, tmp_path: Path) -> None:
    write_fleet(repo, "version: 1\ndefaults: {agent: shell}\nagents:\n"
                      "  - {name: auth, branch: feat/auth}\n  - {name: api, branch: feat/api}\n")
    assert run_agentdeck("up", "--no-start", cwd=repo).code == 0
    assert complete(repo, tmp_path, "re") == ["restart"]
    assert "stop" in complete(repo, tmp_path, "st")
    assert complete(repo, tmp_path, "rm", "--f") == ["--file", "--force"]
    assert complete(repo, tmp_path, "stop", "a") == ["api", "auth"]
    assert "feat/auth" in complete(repo, tmp_path, "spawn", "x", "--branch", "feat/")


def test_fish_and_zsh_scripts_cover_every_command(repo: Path) -> None:
    # (fish is not installed here to load its script: its lines are checked instead)
    fish = run_agentdeck("completion", "fish", cwd=repo).out.splitlines()
    commands = fish[2].split("-a ", 1)[1].strip("'").split()
    assert {"up", "ls", "stop", "restart", "rm", "merge", "init", "completion"} <= set(commands)
    assert "complete -c agentdeck -n '__fish_seen_subcommand_from rm' -l force" in fish
    assert any("(agentdeck ls --names" in line and " stop " in line for line in fish)
    zsh = run_agentdeck("completion", "zsh", cwd=repo).out
    assert "bashcompinit" in zsh and "complete -o default -F _agentdeck agentdeck" in zsh
