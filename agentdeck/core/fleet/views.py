"""What `agentdeck ls` shows of each agent, read from the registry alone, and the registry
squared with what is on disk. Kept light (no git, YAML, database or terminal code): `ls` and
shell completion import little more than this."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from agentdeck.core.fleet.registry import (
    CREATING,
    READY,
    AgentRecord,
    DatabaseRecord,
    Registry,
    RegistryData,
)


@dataclass(frozen=True)
class AgentView:
    """One row of `agentdeck ls`."""

    name: str
    agent: str
    role: str
    branch: str
    worktree: str
    ports: dict[str, int]
    database: str
    state: str  # stopped | creating | interrupted | missing
    setup: str

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name, "agent": self.agent, "role": self.role, "branch": self.branch,
            "worktree": self.worktree, "port": min(self.ports.values(), default=None),
            "ports": self.ports, "database": self.database, "state": self.state,
            "setup": self.setup,
        }


def views(data: RegistryData, live: Mapping[str, str] | None = None) -> list[AgentView]:
    """Every agent; `live`: what the session host says of the agents it runs (their state
    label), else an agent that exists is "stopped"."""
    return [_view(rec, (live or {}).get(rec.name))
            for rec in sorted(data.agents.values(), key=_order)]


def _view(rec: AgentRecord, live: str | None) -> AgentView:
    if rec.status == CREATING:
        state = "creating" if rec.owner_alive() else "interrupted"
    elif not Path(rec.worktree).exists():
        state = "missing"
    else:
        state = live or "stopped"
    return AgentView(rec.name, rec.agent, rec.role, rec.branch, rec.worktree, dict(rec.ports),
                     describe_database(rec.database), state, rec.setup)


def _order(rec: AgentRecord) -> tuple[int, float, str]:
    return (0 if rec.role == "lead" else 1, rec.created_at, rec.name)


def describe_database(record: DatabaseRecord | None) -> str:
    """How `ls` and the sidebar name an agent's database."""
    if record is None:
        return "-"
    if record.mode == "postgres-db":
        return f"{record.name}@{record.host}"
    if record.mode == "postgres-schema":
        return f"schema {record.name}@{record.host}"
    if record.mode == "sqlite":
        return f"sqlite {Path(record.name).name}"
    return f"compose {record.name}"


def reconcile(registry: Registry) -> list[str]:
    """Bring the registry in line with reality; returns what the user should know."""
    notes = []
    with registry.transaction() as data:
        for rec in data.agents.values():
            if rec.status == CREATING and rec.owner_pid and not rec.owner_alive():
                rec.owner_pid, rec.owner_started = 0, 0.0
                notes.append(f"{rec.name}: an earlier run was interrupted while creating it; "
                             "`agentdeck up` finishes it, `agentdeck rm` removes it")
            elif rec.status == READY and not Path(rec.worktree).exists():
                notes.append(f"{rec.name}: worktree {rec.worktree} is gone; `agentdeck prune` "
                             "frees its port")
    return notes


def relative(path: str, start: Path | None = None) -> str:
    """A path as the user would type it from the current directory, when shorter."""
    try:
        rel = os.path.relpath(path, start or Path.cwd())
    except ValueError:
        return path
    return rel if len(rel) < len(path) else path


def state_text(state: str, exit_code: int | None = None, reset: str | None = None,
               detail: str | None = None) -> str:
    """An agent's state as the user reads it: "exited (2)" with its code, "rate-limited
    (resets 3pm)" with its reset time when the agent said, "rate-limited (retrying, 2/10)"
    while its CLI retries, "rate-limited (gave up: 429)" once it stopped."""
    if state == "exited" and exit_code is not None:
        return f"exited ({exit_code})"
    if state == "rate-limited" and (reset or detail):
        return f"rate-limited ({limit_text(reset, detail)})"
    return state


def limit_text(reset: str | None, detail: str | None) -> str:
    """What a rate limit is doing, for beside its state: its detail ("retrying, 2/10", "gave
    up: 429"), then its reset when the agent said one ("resets 3pm")."""
    return " · ".join(part for part in (detail, reset) if part)
