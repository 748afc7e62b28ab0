"""`channel: acp` in the fleet file: per agent or under defaults, a built-in kind's ACP command
(from the kinds registry), a command of the fleet's own that speaks ACP, and one clear line for
a kind that has no ACP mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdeck.core.agents.launch import session_spec
from agentdeck.core.errors import ConfigError
from agentdeck.core.fleet.registry import AgentRecord
from agentdeck.core.fleet.schema import load_fleet


def record(name: str, agent: str, model: str | None = None,
           task: str | None = None) -> AgentRecord:
    return AgentRecord(name=name, agent=agent, role="worker", branch=f"feat/{name}",
                       base="main", worktree="/tmp/wt", model=model, task=task)


def test_channel_acp_under_defaults_and_per_agent(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("version: 1\n"
                    "defaults: {agent: gemini, channel: acp}\n"
                    "commands: {mine: ./my-acp-agent --stdio}\n"
                    "agents:\n"
                    "  - {name: g, model: flash, task: Add a README.}\n"
                    "  - {name: q, agent: qwen}\n"
                    "  - {name: m, agent: mine}\n"
                    "  - {name: p, agent: aider, channel: pty}\n")
    fleet = load_fleet(path, environ={})
    assert [a.channel for a in fleet.agents] == ["acp", "acp", "acp", "pty"]
    g = session_spec(fleet, record("g", "gemini", "flash", "Add a README."))
    assert (g.channel, list(g.argv)) == ("acp", ["gemini", "--acp", "-m", "flash"])
    assert g.prompt is not None and g.prompt.endswith("Your task: Add a README.")
    q = session_spec(fleet, record("q", "qwen"))
    assert list(q.argv) == ["qwen", "--acp", "--approval-mode", "default"]  # (no model)
    assert q.prompt is None
    assert list(session_spec(fleet, record("m", "mine")).argv) == ["./my-acp-agent", "--stdio"]
    p = session_spec(fleet, record("p", "aider"))
    assert p.channel == "pty" and p.argv[0] == "aider"
    # a restart resumes through the protocol: no first prompt again
    assert session_spec(fleet, record("g", "gemini", "flash", "x"), resume=True).prompt is None


def test_a_kind_with_no_acp_mode_is_one_line_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("version: 1\nagents:\n  - {name: a, agent: aider, channel: acp}\n")
    with pytest.raises(ConfigError) as info:
        load_fleet(path, environ={})
    message = str(info.value)
    assert message.startswith(f"{path}:3:")
    assert "agents[0].channel" in message or "channel" in message
    assert "no ACP mode" in message and "\n" not in message
    path.write_text("version: 1\nagents:\n  - {name: a, agent: gemini, channel: tty}\n")
    with pytest.raises(ConfigError, match="pty"):
        load_fleet(path, environ={})


def test_doctor_says_which_installed_clis_speak_acp(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from agentdeck.core.engine.doctor import run_checks

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for program in ("gemini", "aider"):
        exe = bin_dir / program
        exe.write_text("#!/bin/sh\necho 1.0\n")
        exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    check = next(c for c in run_checks() if c.name == "ACP agents")
    assert check.detail.startswith("installed CLIs that speak ACP: gemini")
    assert "aider" not in check.detail
    monkeypatch.setenv("PATH", "/nonexistent")
    check = next(c for c in run_checks() if c.name == "ACP agents")
    assert not check.ok and check.detail.startswith("no installed CLI speaks ACP")


def test_spawn_with_a_channel_the_kind_has_not_is_one_line(tmp_path: Path) -> None:
    from tests.conftest import make_repo, run_agentdeck, write_fleet

    repo = make_repo(tmp_path)
    write_fleet(repo, "version: 1\nagents: []\n")
    run = run_agentdeck("spawn", "x", "--agent", "shell", "--channel", "acp", "--no-save",
                        cwd=repo)
    assert run.code == 2, run
    assert run.err.strip().splitlines() == [
        "agentdeck: error: agent kind 'shell' has no ACP mode agentdeck knows; use --channel "
        "pty, or give commands.shell a command that speaks ACP"]
