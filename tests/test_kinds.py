"""The one registry of agent kinds (agentdeck/core/fleet/kinds.py) and everything that derives
from it or names it: the detectors and usage readers it names, the shell kinds, the hook's
CLIs, scripts/install_agents.sh, the e2e versions and the README's agents table."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from agentdeck import hook_client
from agentdeck.core.agents.launch import is_shell
from agentdeck.core.agents.programs import command_program
from agentdeck.core.agents.usage import READERS
from agentdeck.core.deck import hook_cli
from agentdeck.core.fleet.kinds import (
    CLIS,
    HOOK_KINDS,
    KINDS,
    SHELL_PROGRAMS,
    adapters,
    versions,
)
from agentdeck.core.fleet.spec import Fleet
from agentdeck.core.screen.detect.dispatch import DETECTORS

ROOT = Path(__file__).resolve().parent.parent
# the README's agents table, as agreed for it: `| Display name (`kind`) | version | …`
AGENT_ROW = re.compile(r"^\| [^|]*\(`(\w+)`\) \| ([^ |]+) \|", re.M)


def test_every_kind_names_a_detector_and_a_usage_reader_that_exist() -> None:
    for kind in KINDS.values():
        assert kind.detector is None or kind.detector in DETECTORS, kind
        assert kind.usage is None or kind.usage in READERS, kind
        # an ACP command runs the kind's own program, in a version the --help was read from,
        # or its adapter's (a pinned npm package whose program is named after it)
        program = Path(command_program(kind.acp)).name if kind.acp else None
        assert kind.acp is None or (kind.verified and (
            program == kind.executable if kind.adapter is None
            else kind.adapter.rsplit("@", 1)[0].endswith("/" + program))), kind
    # and nothing there is unreachable: each detector (but the generic fallback) is a kind's
    named = {kind.detector for kind in KINDS.values()} | {"generic"}
    assert set(DETECTORS) <= named
    assert set(READERS) <= {kind.usage for kind in KINDS.values()}
    assert [k.name for k in KINDS.values() if k.detector is None] == ["shell"]


def test_a_kind_is_a_shell_exactly_when_its_command_starts_a_shell() -> None:
    for kind in KINDS.values():
        assert kind.shell == (Path(command_program(kind.command)).name in SHELL_PROGRAMS), kind
        assert is_shell(None, kind.name) == kind.shell
        assert is_shell(Fleet(path=None), kind.name) == kind.shell
    assert is_shell(None, "zsh") and not is_shell(None, "my-bot")
    assert set(CLIS) == set(KINDS) - {"shell"}


def test_approval_rules_and_shell_agents_know_the_same_shells() -> None:
    from agentdeck.core.oversight import rules

    assert rules.SHELLS is SHELL_PROGRAMS


def test_the_hook_goes_to_the_kinds_that_take_it_and_the_hook_command_accepts_them() -> None:
    assert HOOK_KINDS == ("claude", "codex")
    for kind in KINDS.values():
        argv = [kind.executable, "--model", "m"]
        assert hook_cli(kind.name, argv) == (kind.name if kind.hook else None)
    assert hook_cli("claude", ["./wrapper.sh"]) is None  # a wrapper is watched on its screen
    with pytest.raises(SystemExit):  # argparse refuses a CLI whose hook agentdeck never installs
        hook_client.main(["permission-request", "--agent", "a", "--cli", "gemini",
                          "--socket", "/nonexistent"])


def test_the_registry_prints_its_versions_with_the_standard_library_alone() -> None:
    """install_agents.sh runs it with a bare python3, before any virtualenv exists: -S (no
    site-packages) -E (no PYTHONPATH) from the clone's root proves it needs nothing else."""
    result = subprocess.run([sys.executable, "-S", "-E", "-m", "agentdeck.core.fleet.kinds",
                             "--versions"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            check=True)
    assert result.stdout.splitlines() == [
        *(f"{k.upper()}={v}" for k, v in versions().items()),
        *(f"{k.upper()}_ACP={v}" for k, v in adapters().items())]
    assert versions() == {n: k.verified for n, k in CLIS.items() if k.verified}


def test_install_agents_takes_its_versions_from_the_registry() -> None:
    script = (ROOT / "scripts" / "install_agents.sh").read_text(encoding="utf-8")
    assert "python3 -m agentdeck.core.fleet.kinds --versions" in script
    for name, version in versions().items():
        assert version not in script, f"{name} {version} written in install_agents.sh"
    for name, package in adapters().items():
        assert package.rsplit("@", 1)[1] not in script, f"{package} written there"
        assert f"${name.upper()}_ACP" in script, f"{name}'s adapter not installed there"
    # each CLI's variable the script uses is one the registry prints (set -u fails otherwise)
    used = set(re.findall(r"\$\{?([A-Z]+)\b", script)) & {name.upper() for name in KINDS}
    assert used and used <= {name.upper() for name in versions()}, used


def test_the_e2e_tests_run_the_registry_versions() -> None:
    from tests.e2e import real_agents

    assert versions() == real_agents.VERSIONS
    assert set(real_agents.SETUPS) == set(versions())  # each CLI set up to run offline
    # (aider takes its brief as a file and its task typed at its prompt)
    assert "claude" in real_agents.TASK_ON_COMMAND_LINE
    assert "aider" not in real_agents.TASK_ON_COMMAND_LINE
    for name in versions():
        real_agents.binary(name)  # (a KeyError: a verified CLI the e2e tests cannot find)
        assert versions()[name] in real_agents.missing_reason(name)


def agents_table(readme: str) -> dict[str, str]:
    """The README's agents table: kind -> version verified (or "unverified")."""
    return {kind: version for kind, version in AGENT_ROW.findall(readme)}


def test_the_readme_agents_table_is_the_registry() -> None:
    table = agents_table((ROOT / "README.md").read_text(encoding="utf-8"))
    assert set(table) == set(CLIS), "README's agents table: one row per agent CLI"
    for name, version in table.items():
        assert version == (CLIS[name].verified or "unverified"), name


def test_the_table_check_reads_rows_and_not_the_header() -> None:
    text = ("| agent (`agent:` kind) | version verified | prompts covered | prompts reach |\n"
            "|---|---|---|---|\n"
            "| Claude Code (`claude`) | 2.1.328 | bash | its hook |\n"
            "| Crush (`crush`) | unverified | shell | its screen |\n")
    assert agents_table(text) == {"claude": "2.1.328", "crush": "unverified"}


def test_the_sample_fleet_file_names_every_built_in_kind() -> None:
    sample = (ROOT / "agentdeck" / "sample_fleet.yaml").read_text(encoding="utf-8")
    built_in = sample[sample.index("Built in"):sample.index("this one is claude's")]
    assert re.findall(r"[a-z]+", built_in.split(":", 1)[1].replace("\n#", " ")) == list(KINDS)


def test_the_kinds_that_speak_acp_and_a_custom_command_that_does() -> None:
    from agentdeck.core.fleet.kinds import BUILTIN_ACP, BUILTIN_COMMANDS, acp_template

    assert set(BUILTIN_ACP) == {"claude", "codex", "gemini", "qwen", "opencode", "kilo",
                                "copilot"}
    assert acp_template("gemini", BUILTIN_COMMANDS) == "gemini --acp -m {model}"
    assert acp_template("claude", BUILTIN_COMMANDS) == "claude-agent-acp"  # its adapter
    adapter = {**BUILTIN_COMMANDS, "claude": "claude-code-acp"}
    assert acp_template("claude", adapter) == "claude-code-acp"
    assert acp_template("mine", {"mine": "./my-acp-agent --stdio"}) == "./my-acp-agent --stdio"
