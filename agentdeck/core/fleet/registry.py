"""What agentdeck has made: agents, their worktrees, ports and databases.

Kept as JSON under `$(git rev-parse --git-common-dir)/agentdeck/`, so every worktree of the
repository sees the same registry. Every change happens inside `transaction()`: an exclusive
flock on a side file, then an atomic replace of the JSON. Records are written *before* the thing
they describe is created (write-ahead), so a run killed half-way leaves enough behind for the
next run to adopt what exists instead of duplicating it.

No secrets go here: agent env values and database passwords are never stored.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from agentdeck.core.errors import OperationError
from agentdeck.core.files import atomic_write, locked

REGISTRY_FILE = "registry.json"
LOCK_FILE = "registry.lock"

CREATING = "creating"  # write-ahead: being made, or a run making it was killed
READY = "ready"


@dataclass
class DatabaseRecord:
    mode: str
    name: str  # database, schema, sqlite path or compose project
    url: str = ""  # without password
    created: bool = False  # write-ahead: True as soon as agentdeck may have created it
    host: str = ""


@dataclass
class AgentRecord:
    name: str
    agent: str
    role: str
    branch: str
    base: str
    worktree: str
    in_main: bool = False  # a lead working in the main worktree: never removed by agentdeck
    branch_created: bool = False  # write-ahead, as DatabaseRecord.created
    base_commit: str = ""
    ports: dict[str, int] = field(default_factory=dict)
    slot: int = 0  # small unique number per agent: compose port offsets
    database: DatabaseRecord | None = None
    status: str = CREATING
    owner_pid: int = 0
    owner_started: float = 0.0
    setup: str = "none"  # none | pending | done | failed
    model: str | None = None
    task: str | None = None
    channel: str = "pty"  # how it is driven (AgentSpec.channel), kept for one spawned outside
    forbid: list[str] = field(default_factory=list)
    fleet_file: str | None = None
    created_at: float = 0.0
    host: str = ""  # set by a dashboard for agents another host's registry holds; "": here

    @property
    def port_numbers(self) -> list[int]:
        return sorted(set(self.ports.values()))

    def owner_alive(self) -> bool:
        return process_alive(self.owner_pid, self.owner_started)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AgentRecord:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if isinstance(values.get("database"), dict):
            db_known = {f.name for f in fields(DatabaseRecord)}
            values["database"] = DatabaseRecord(
                **{k: v for k, v in values["database"].items() if k in db_known})
        return cls(**values)


@dataclass
class RegistryData:
    agents: dict[str, AgentRecord] = field(default_factory=dict)

    def taken_ports(self, except_agent: str | None = None) -> set[int]:
        return {p for a in self.agents.values() if a.name != except_agent for p in a.ports.values()}

    def free_slot(self) -> int:
        used = {a.slot for a in self.agents.values()}
        return next(n for n in range(1, len(used) + 2) if n not in used)


def process_alive(pid: int, started: float) -> bool:
    if pid <= 0:
        return False
    import psutil  # imported when needed: `ls` and completion stay fast

    try:
        proc = psutil.Process(pid)
        # A recycled pid belongs to a process that started later than ours did.
        return abs(proc.create_time() - started) < 1.0 and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def this_process() -> tuple[int, float]:
    import psutil

    pid = os.getpid()
    return pid, psutil.Process(pid).create_time()


class Registry:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.path = state_dir / REGISTRY_FILE
        self.lock_path = state_dir / LOCK_FILE

    def load(self) -> RegistryData:
        """A consistent snapshot (taken under the lock, so never a half-written file)."""
        with self._locked():
            return self._read()

    @contextmanager
    def transaction(self) -> Iterator[RegistryData]:
        """Exclusive access; what the block leaves in the data is saved atomically on exit."""
        with self._locked():
            data = self._read()
            yield data
            self._write(data)

    def _locked(self) -> AbstractContextManager[None]:
        return locked(self.lock_path)

    def _read(self) -> RegistryData:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return RegistryData()
        except (OSError, ValueError) as exc:
            # Never silently start over: that would forget worktrees and databases we made.
            raise OperationError(f"{self.path} is unreadable ({exc}); fix or move it "
                                 "aside") from None
        agents = {name: AgentRecord.from_json(rec) for name, rec in raw.get("agents", {}).items()}
        return RegistryData(agents=agents)

    def _write(self, data: RegistryData) -> None:
        payload = {
            "version": 1,
            "written_at": time.time(),
            "agents": {name: asdict(rec) for name, rec in sorted(data.agents.items())},
        }
        atomic_write(self.path, json.dumps(payload, indent=2) + "\n", mode=0o600)
