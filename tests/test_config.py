"""The fleet file: every documented key loads; every kind of mistake names file:line:col."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdeck.core.errors import ConfigError
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.oversight.rules import applies
from tests.conftest import assert_one_line_error, run_agentdeck, write_fleet

SAMPLE = Path(__file__).parent.parent / "sample_fleet.yaml"


def test_sample_fleet_documents_a_valid_fleet() -> None:
    fleet = load_fleet(SAMPLE, environ={"AUTH_API_KEY": "sk-auth"})
    assert [a.name for a in fleet.agents] == ["lead", "auth", "payments"]
    auth = fleet.agent("auth")
    assert auth is not None
    assert auth.env == {"ANTHROPIC_API_KEY": "sk-auth"}
    assert auth.forbid == ("src/types/",)
    assert auth.model == "haiku"
    assert fleet.ports.vars == ("PORT", "VITE_PORT")
    assert fleet.stagger == 5.0
    payments = fleet.agent("payments")
    assert payments is not None
    assert payments.database.mode == "postgres-schema"
    assert payments.database.url == "postgres://localhost/myapp"  # inherited from defaults
    assert payments.model == "sonnet"
    [rule] = fleet.rules
    assert (rule.decision, rule.kind, rule.role) == ("allow", "bash", "worker")
    assert applies(rule, "auth", "worker", "bash", "npm test -- auth")
    assert not applies(rule, "lead", "lead", "bash", "npm test")
    assert fleet.dashboard.scrollback == 10_000 and fleet.dashboard.theme == "agentdeck-dark"


def test_approval_rules_and_dashboard_are_checked(tmp_path: Path) -> None:
    base = "version: 1\nagents: [{name: a, branch: feat/a}]\n"
    assert "exactly one of" in _error(tmp_path, base + "approvals: {rules: [{match: x}]}\n")
    assert "regular expression" in _error(
        tmp_path, base + "approvals: {rules: [{allow: bash, match: '('}]}\n")
    assert "did you mean 'scrollback'" in _error(tmp_path, base + "dashboard: {scrolback: 5}\n")


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_fleet(path, environ={})
    return str(info.value)


def test_malformed_yaml_names_line_and_column(tmp_path: Path) -> None:
    message = _error(tmp_path, "version: 1\nagents:\n  - name: a\n   branch: [x\n")
    assert message.startswith(f"{tmp_path / 'fleet.yaml'}:4:")
    assert "malformed YAML" in message


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    message = _error(tmp_path, "version: 1\nagents:\n  - name: a\n    brnach: feat/a\n")
    assert ":4:5:" in message
    assert "unknown key 'agents[0].brnach'" in message
    assert "did you mean 'branch'?" in message


def test_wrong_type_names_key_and_what_it_got(tmp_path: Path) -> None:
    message = _error(tmp_path, "defaults:\n  ports:\n    start: lots\n")
    assert ":3:12:" in message
    assert "'defaults.ports.start' must be an integer" in message
    assert "'lots'" in message


def test_duplicate_agent_names(tmp_path: Path) -> None:
    message = _error(tmp_path, "agents:\n  - {name: a, branch: x}\n  - {name: a, branch: y}\n")
    assert ":3:" in message and "duplicate agent name 'a'" in message


def test_duplicate_branches(tmp_path: Path) -> None:
    message = _error(tmp_path, "agents:\n  - {name: a, branch: x}\n  - {name: b, branch: x}\n")
    assert ":3:" in message and "both use branch 'x'" in message


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    message = _error(tmp_path, "base: main\nbase: dev\n")
    assert ":2:1:" in message and "duplicate key 'base'" in message


def test_unknown_agent_kind_and_database_mode(tmp_path: Path) -> None:
    assert "did you mean 'claude'" in _error(tmp_path, "defaults: {agent: clade}\n")
    assert "did you mean 'postgres-db'" in _error(
        tmp_path, "defaults: {database: {mode: postgres_db, url: postgres://x/y}}\n")


def test_an_unset_env_reference_fails_only_its_agent(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("agents:\n  - name: a\n    env: {KEY: '${NOT_SET_ANYWHERE}'}\n"
                    "  - name: b\n    env: {KEY: '${SET_HERE}'}\n")
    fleet = load_fleet(path, environ={"SET_HERE": "x"})  # the fleet loads: ls, diff, ... work
    a, b = fleet.agents
    with pytest.raises(ConfigError) as info:
        a.check_env()
    message = str(info.value)
    assert message.startswith("agent a: ") and "${NOT_SET_ANYWHERE}" in message
    assert ":3:" in message
    b.check_env()
    assert b.env == {"KEY": "x"} and b.refs == {"SET_HERE"}
    # an agent's own value replaces a default that needs an unset variable
    path.write_text("defaults: {env: {KEY: '${NOPE}'}}\nagents:\n  - name: a\n"
                    "    env: {KEY: plain}\n  - name: b\n")
    a, b = load_fleet(path, environ={}).agents
    a.check_env()
    with pytest.raises(ConfigError, match=r"agent b: .*NOPE"):
        b.check_env()
    path = tmp_path / "ok.yaml"
    path.write_text("agents:\n  - name: a\n    env: {KEY: '${NOT_SET:-fallback}', B: '$$x'}\n")
    assert load_fleet(path, environ={}).agents[0].env == {"KEY": "fallback", "B": "$x"}


def test_postgres_mode_needs_url(tmp_path: Path) -> None:
    assert "needs 'url'" in _error(tmp_path, "defaults: {database: postgres-db}\n")


def test_config_errors_from_the_command_line_are_one_line_exit_2(repo: Path) -> None:
    write_fleet(repo, "version: 1\nagents:\n  - name: a\n    agnet: claude\n")
    result = run_agentdeck("up", cwd=repo)
    assert_one_line_error(result, 2, "agentdeck.yaml:4:5", "did you mean 'agent'")
    write_fleet(repo, "agents: [\n")
    assert_one_line_error(run_agentdeck("up", cwd=repo), 2, "malformed YAML")
    assert_one_line_error(run_agentdeck("up", "-f", "nope.yaml", cwd=repo), 2, "no such fleet")


@pytest.mark.parametrize("mode", ["postgres-schema", "postgres-db"])
def test_agents_whose_names_map_to_one_database_are_refused(tmp_path: Path, mode: str) -> None:
    url = "postgresql://u@localhost:5432/shop"
    message = _error(tmp_path, f"""version: 1
defaults: {{database: {{mode: {mode}, url: "{url}"}}}}
agents:
  - {{name: a-b, branch: feat/one}}
  - {{name: A.b, branch: feat/two}}
""")
    assert "'a-b' and 'A.b' would share" in message and "rename one" in message


def test_nan_durations_are_refused(tmp_path: Path) -> None:
    message = _error(tmp_path, "version: 1\ndefaults: {stagger: .nan}\nagents: []\n")
    assert "stagger" in message and "between 0 and" in message


def test_the_notify_command_has_one_key_and_its_older_spelling_is_read_into_it(
        tmp_path: Path) -> None:

    base = "version: 1\nagents:\n  - {name: lead, role: lead, agent: shell}\n"
    old = tmp_path / "old.yaml"
    old.write_text(base + "dashboard: {notify: 'echo $AGENTDECK_AGENT'}\n")
    assert load_fleet(old).notify.command == "echo $AGENTDECK_AGENT"
    new = tmp_path / "new.yaml"
    new.write_text(base + "notify: {command: 'echo new'}\n")
    assert load_fleet(new).notify.command == "echo new"
    both = tmp_path / "both.yaml"
    both.write_text(base + "dashboard: {notify: 'echo a'}\nnotify: {command: 'echo b'}\n")
    with pytest.raises(ConfigError, match=r"set twice: keep notify\.command"):
        load_fleet(both)
