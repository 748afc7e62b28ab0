"""A secret the fleet hands to one agent reaches that agent only: not the other agents (through
the inherited shell environment), not their setup commands, not the session host; an unset
${VAR} fails only the commands that make or start the agent that uses it."""

from __future__ import annotations

import os
from pathlib import Path

from agentdeck.core.git.repo import open_repo
from agentdeck.daemon import lifecycle
from tests.conftest import run_agentdeck, scripted_fleet, wait

SLEEPER = "import time\ntime.sleep(600)\n"
SECRETS = {"SECRET_A": "alpha-secret-1", "SECRET_B": "beta-secret-2", "SHARED_TOKEN": "shared-3",
           "UNRELATED": "keep-me-4"}


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0")
                if "=" in item)


def test_each_agent_finds_its_own_secret_and_no_other(tmp_path: Path) -> None:
    repo = scripted_fleet(tmp_path, "sleeper", SLEEPER, """defaults:
  agent: sleeper
  env: {TOKEN: "${SHARED_TOKEN}"}
agents:
  - name: a
    env: {API_KEY: "${SECRET_A}"}
  - name: b
    env: {API_KEY: "${SECRET_B}"}
    setup: ["env > setup-env.txt"]
  - name: c
    env_passthrough: []
""")
    env = {**os.environ, **SECRETS}
    assert run_agentdeck("up", "--no-start", cwd=repo, env=env).code == 0
    state = open_repo(repo).state_dir
    try:
        started = run_agentdeck("start", cwd=repo, env=env)
        assert started.code == 0, started.err
        host = lifecycle.connect(state)
        assert host is not None
        wait(lambda: all(i.pid for i in host.sessions()) and len(host.sessions()) == 3,
             "three agents with their processes")
        seen = {i.name: environ_of(i.pid) for i in host.sessions() if i.pid}
        daemon = environ_of(host.daemon_pid)
        host.close()
    finally:
        run_agentdeck("daemon", "stop", cwd=repo)
    a, b, c = seen["a"], seen["b"], seen["c"]
    assert a["API_KEY"] == "alpha-secret-1" and b["API_KEY"] == "beta-secret-2"
    assert "beta-secret-2" not in "\0".join(a.values()) and "SECRET_B" not in a
    assert "alpha-secret-1" not in "\0".join(b.values()) and "SECRET_A" not in b
    assert a["SECRET_A"] == "alpha-secret-1"  # its own stays: the fleet handed it to a
    assert all(agent["TOKEN"] == "shared-3" for agent in (a, b, c))  # defaults: everyone's
    assert a["UNRELATED"] == b["UNRELATED"] == "keep-me-4"  # the rest is inherited as before
    # env_passthrough: [] leaves the basics and what agentdeck and the fleet give it
    assert "UNRELATED" not in c and "SECRET_A" not in c and "SECRET_B" not in c
    assert {"PATH", "HOME", "AGENTDECK_AGENT", "TERM"} <= set(c)
    assert not {"alpha-secret-1", "beta-secret-2"} & set(c.values())
    # the session host holds none of them
    assert not {"alpha-secret-1", "beta-secret-2", "shared-3"} & set(daemon.values())
    # b's setup commands ran with b's environment
    setup_env = (tmp_path / "wt-b" / "setup-env.txt").read_text()
    assert "beta-secret-2" in setup_env and "alpha-secret-1" not in setup_env


def test_an_unset_variable_fails_only_the_commands_that_start_its_agent(tmp_path: Path) -> None:
    repo = scripted_fleet(tmp_path, "sleeper", SLEEPER, """defaults: {agent: sleeper}
agents:
  - name: a
    env: {API_KEY: "${SECRET_A}"}
  - name: b
""")
    without = {k: v for k, v in os.environ.items() if k != "SECRET_A"}
    up = run_agentdeck("up", "--no-start", cwd=repo, env=without)  # a fails, b is made
    assert up.code == 2 and len(up.err.strip().splitlines()) == 1, up.err
    assert "error: a: " in up.err and "${SECRET_A}" in up.err and "agentdeck.yaml:7:" in up.err
    assert (tmp_path / "wt-b").is_dir() and not (tmp_path / "wt-a").exists()
    assert run_agentdeck("up", "--no-start", "b", cwd=repo, env=without).code == 0
    listed = run_agentdeck("ls", cwd=repo, env=without)
    assert listed.code == 0 and "b " in listed.out
    assert run_agentdeck("diff", "b", cwd=repo, env=without).code == 0
    # made while the variable was set, then started without it: that start fails, by name
    assert run_agentdeck("up", "--no-start", "a", cwd=repo,
                         env={**without, "SECRET_A": "x"}).code == 0
    try:
        started = run_agentdeck("start", cwd=repo, env=without)
        assert started.code == 1 and "b: started" in started.out
        assert "agentdeck: agent a: " in started.err and "(not started)" in started.err
        status = run_agentdeck("daemon", "status", cwd=repo, env=without)
        assert status.code == 0 and "b " in status.out
    finally:
        run_agentdeck("daemon", "stop", cwd=repo)
