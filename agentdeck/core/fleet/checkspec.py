"""The fleet's `checks:` (and an agent's own): what judges an agent's work — commands run in its
worktree, with its environment, port and database (sandboxed when it is), on each new commit of
its branch (`when: commit`) or when asked (`agentdeck checks`). Their records and how they are
read (by the fleet reader of schema.py and entries.py, whose checks and messages they use)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from agentdeck.core.names import NAME_RE
from agentdeck.core.yamlmarks import KeyPath

if TYPE_CHECKING:
    from agentdeck.core.fleet.reader import Reader

CHECK_KEYS = ("name", "run", "timeout", "when")  # (docs/configuration.md is written from these)
CHECK_WHEN = ("commit", "manual")
DEFAULT_TIMEOUT = 600.0  # seconds a check may run before it is ended (and fails)


@dataclass(frozen=True)
class CheckSpec:
    name: str
    run: str | None = None  # a shell command (None: an agent's override of a fleet check)
    timeout: float | None = None  # None: the fleet's, else DEFAULT_TIMEOUT
    when: str | None = None  # commit | manual; None: the fleet's, else commit

    @property
    def on_commit(self) -> bool:
        return (self.when or "commit") == "commit"

    @property
    def seconds(self) -> float:
        return self.timeout or DEFAULT_TIMEOUT


def read_checks(reader: Reader, raw: Any, path: KeyPath, override: bool = False
                ) -> tuple[CheckSpec, ...]:
    """`checks: [{name: tests, run: "pytest -q", timeout: 10m, when: commit}]`; `override`: an
    agent's list, whose entries may name a fleet check and change only some of its keys."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        reader.bad_value(path, "'checks' must be a list of {name, run} entries")
    out: list[CheckSpec] = []
    for index, entry in enumerate(raw):
        at: KeyPath = (*path, index)
        data = reader.mapping(entry, at, CHECK_KEYS)
        if "name" not in data:
            reader.fail(at, "a check needs a 'name' (e.g. {name: tests, run: \"pytest -q\"})")
        name = reader.string(data["name"], (*at, "name"))
        if not NAME_RE.match(name):
            reader.bad_value((*at, "name"), f"check name '{name}' may use letters, digits, "
                             "'.', '_' and '-', starting with a letter or digit")
        if any(c.name == name for c in out):
            reader.fail((*at, "name"), f"two checks are named '{name}'")
        run = None
        if "run" in data:
            run = reader.string(data["run"], (*at, "run"))
            if not run.strip():
                reader.bad_value((*at, "run"), "'run' is the command the check runs")
        elif not override:
            reader.fail(at, f"check '{name}' needs 'run', the command it runs")
        timeout = (reader.duration(data["timeout"], (*at, "timeout"), most=86_400)
                   if "timeout" in data else None)
        if timeout is not None and timeout <= 0:
            reader.bad_value((*at, "timeout"), "'timeout' must be more than 0")
        when = (reader.string(data["when"], (*at, "when"), choices=CHECK_WHEN)
                if "when" in data else None)
        out.append(CheckSpec(name, run, timeout, when))
    return tuple(out)


def merged_checks(fleet_checks: Sequence[CheckSpec], own: Sequence[CheckSpec]
                  ) -> tuple[CheckSpec, ...]:
    """An agent's checks: the fleet's, each changed by the agent's entry of the same name, then
    the agent's own; an override of a check the fleet does not have, without `run`, is
    dropped (the reader refuses it where it can see both)."""
    mine = {c.name: c for c in own}
    out = []
    for check in fleet_checks:
        change = mine.pop(check.name, None)
        if change is None:
            out.append(check)
            continue
        out.append(replace(check, run=change.run or check.run,
                           timeout=change.timeout or check.timeout,
                           when=change.when or check.when))
    out += [c for c in mine.values() if c.run]
    return tuple(out)
