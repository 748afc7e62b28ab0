"""Edits agentdeck makes to the user's fleet file: an agent spawned is added to its `agents:`
list, an agent removed leaves it. Each keeps every other line and comment as it was, and the
file is re-read before it replaces the old one (a write that would not load never lands)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from agentdeck.core.errors import AgentdeckError
from agentdeck.core.files import atomic_write
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.fleet.spec import AgentSpec, Fleet
from agentdeck.core.yamlmarks import load_located


def add_to_fleet_file(path: Path, spec: AgentSpec) -> None:
    """Append the agent to the fleet file's `agents:` list as one flow-style line, keeping every
    comment and line of the file; the file is re-read to prove it, and restored if not."""
    text = path.read_text(encoding="utf-8")
    entry: dict[str, str | list[str]] = {"name": spec.name, "branch": spec.branch,
                                         "role": spec.role, "agent": spec.agent}
    for key in ("model", "base", "task"):
        value = getattr(spec, key)
        if value:
            entry[key] = value
    if spec.forbid:
        entry["forbid"] = list(spec.forbid)
    if spec.channel != "pty":
        entry["channel"] = spec.channel
    item = "{" + ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}"
                           for k, v in entry.items()) + "}"
    lines = text.splitlines(keepends=True)
    block = re.compile(r"^agents:\s*(#.*)?$")  # `agents:`, perhaps with a comment
    empty = re.compile(r"^agents:\s*\[\s*\]\s*(#.*)?$")  # `agents: []`
    start = next((i for i, line in enumerate(lines) if block.match(line.rstrip("\n"))), None)
    bare = next((i for i, line in enumerate(lines) if empty.match(line.rstrip("\n"))), None)
    if bare is not None:  # an empty flow list becomes a block list with this one entry
        comment = empty.match(lines[bare].rstrip("\n")).group(1)  # type: ignore[union-attr]
        lines[bare] = f"agents:{'  ' + comment if comment else ''}\n  - {item}\n"
        new = "".join(lines)
    elif start is None:
        if any(line.startswith("agents:") for line in lines):
            raise AgentdeckError(f"{path}: 'agents:' is written as a flow list ([...]); add "
                                 f"{spec.name} to it by hand")
        new = text + ("" if text.endswith("\n") or not text else "\n") + f"agents:\n  - {item}\n"
    else:
        end, indent = start + 1, "  "
        for i in range(start + 1, len(lines)):
            line = lines[i]
            if line.strip() and not line.startswith((" ", "\t", "#")):
                break  # the next top-level key
            if line.lstrip().startswith("- "):
                indent = line[: len(line) - len(line.lstrip())]
            if line.strip() and not line.lstrip().startswith("#"):
                end = i + 1
        lines.insert(end, f"{indent}- {item}\n")
        new = "".join(lines)

    def reads_back(written: Path) -> None:
        if load_fleet(written).agent(spec.name) is None:
            raise AgentdeckError(f"{path}: the new entry did not read back")

    atomic_write(path, new, check=reads_back)


def remove_from_fleet_file(path: Path, name: str) -> bool:
    """Take agent `name` out of the fleet file's `agents:` list (its lines; the comments above
    the next entry stay). False when the file does not list it."""
    doc = load_located(path)
    agents = doc.data.get("agents") if isinstance(doc.data, dict) else None
    if not isinstance(agents, list):
        return False
    index = next((i for i, a in enumerate(agents)
                  if isinstance(a, dict) and a.get("name") == name), None)
    if index is None:
        return False
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first = doc.positions[("agents", index)].line - 1
    if first == doc.positions[("agents",)].line - 1:
        raise AgentdeckError(f"{path}: 'agents:' is written as a flow list ([...]); remove "
                             f"{name} from it by hand")
    if not lines[first].lstrip().startswith("-"):  # the dash on a line of its own
        first -= 1
    if index + 1 < len(agents):
        end = doc.positions[("agents", index + 1)].line - 1
        while not lines[end].lstrip().startswith("-"):
            end -= 1
    else:
        end = next((i for i in range(first + 1, len(lines)) if lines[i].strip()
                    and not lines[i].startswith((" ", "\t", "#", "-"))), len(lines))
    while end > first + 1 and (not lines[end - 1].strip()
                               or lines[end - 1].lstrip().startswith("#")):
        end -= 1  # comments and blank lines before what follows belong to it
    del lines[first:end]
    if len(agents) == 1:  # the list is empty now: say so, rather than leave `agents:` null
        at = doc.positions[("agents",)].line - 1
        lines[at] = re.sub(r"^agents:(\s*)(#.*)?$", lambda m: "agents: []" + (
            "  " + m.group(2) if m.group(2) else ""), lines[at].rstrip("\n")) + "\n"

    def reads_back(written: Path) -> None:
        if load_fleet(written).agent(name) is not None:
            raise AgentdeckError(f"{path}: {name} is still there after removing it")

    atomic_write(path, "".join(lines), check=reads_back)
    return True


def forget_in_fleet(fleet: Fleet, name: str, keep: bool = False) -> list[str]:
    """After an agent was removed (rm, merge --cleanup, the review's D): take its entry out of
    the fleet file, so the next `agentdeck` does not make it again. What happened, as lines
    to show ("warning: …" when the file could not be changed); none when it is not listed."""
    fleet_path = fleet.path
    if fleet_path is None or fleet.agent(name) is None:
        return []
    if keep:
        return [f"kept in {fleet_path} (the next `agentdeck up` makes it again)"]
    try:
        if remove_from_fleet_file(fleet_path, name):
            return [f"removed from {fleet_path}"]
    except (AgentdeckError, OSError) as exc:  # the agent is gone all the same: say what is left
        return [f"warning: still listed in the fleet file: {exc}"]
    return []
