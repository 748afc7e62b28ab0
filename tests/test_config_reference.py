"""docs/configuration.md is written from the fleet schema (agentdeck/core/fleet/reference.py):
it must be current, and the schema cannot grow a key the reference does not describe."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agentdeck.core.fleet import reference


def test_the_committed_reference_is_the_one_the_schema_writes() -> None:
    current = reference.OUT.read_text(encoding="utf-8")
    assert current == reference.render(), (
        "docs/configuration.md is out of date: run python -m agentdeck.core.fleet.reference")


def test_every_key_of_the_schema_has_its_line_and_every_line_a_key() -> None:
    grown = (*reference.SECTIONS, ("top", "Top level", "", ("a_new_key",)))
    with pytest.raises(ValueError, match=r"top\.a_new_key"):
        reference.render(sections=grown)
    stale = {**reference.DOCS, "dashboard.gone": ("boolean", "false", "no longer read")}
    with pytest.raises(ValueError, match=r"dashboard\.gone"):
        reference.render(docs=stale)


def test_check_says_whether_the_file_is_current() -> None:
    result = subprocess.run([sys.executable, "-m", "agentdeck.core.fleet.reference", "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_defaults_are_read_from_the_records() -> None:
    text = reference.render()
    assert "| `scrollback` | integer | 10000 |" in text
    assert "| `events` | list | [waiting, finished, rate-limited, error] |" in text
    assert "| `crush` | `crush` | none |" in text  # the registry's built-in commands
