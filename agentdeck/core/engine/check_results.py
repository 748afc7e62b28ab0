"""What the checks said: each agent's last result of each check (pass / fail / running, the
commit it judged, how long it took, the tail of its output), kept in the registry folder
(`checks.json`, locked and replaced whole, as the registry is) so that every client — the
dashboard that ran them, `agentdeck checks`, `ls --json`, `compare` — reads the same. The full
output of each run is kept beside it (`checks/<agent>/<check>.log`, 0600).

Light on purpose: `ls --json` reads it, and `ls` loads no heavy code (tests/test_structure.py).
A result is "stale" when the agent's branch has moved past the commit it judged."""

from __future__ import annotations

import json
import os
import time
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from agentdeck.core.agents.refs import read_ref
from agentdeck.core.files import atomic_write, locked, write_private

STORE = "checks.json"
LOCK = "checks.lock"
LOGS = "checks"
PASS, FAIL, RUNNING, STALE = "pass", "fail", "running", "stale"
TAIL_CHARS = 4000  # of the output, kept in the store (the log has it all)


@dataclass
class CheckResult:
    name: str
    status: str  # pass | fail | running (stale is worked out when read: see `shown`)
    commit: str = ""  # the commit it judged (the worktree's HEAD when it started)
    seconds: float = 0.0
    output_tail: str = ""
    run: str = ""  # the command
    finished_at: float = 0.0
    pid: int = 0  # while running: the process that runs it (a dead one: not running)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def as_json(self, tip: str | None = None) -> dict[str, Any]:
        """What `checks --json` and `ls --json` show: {name, status, commit, seconds,
        output_tail}; `tip`, the branch's commit now (a result for an older one is stale)."""
        return {"name": self.name, "status": self.shown(tip), "commit": self.commit,
                "seconds": round(self.seconds, 2), "output_tail": self.output_tail}

    def shown(self, tip: str | None = None) -> str:
        if self.status == RUNNING and not _alive(self.pid):
            return STALE  # its runner went away (a dashboard closed mid-check)
        if self.status != RUNNING and tip and self.commit and tip != self.commit:
            return STALE
        return self.status


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


Results = dict[str, dict[str, CheckResult]]  # agent -> check name -> its last result


class CheckStore:
    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.path = state_dir / STORE

    def load(self) -> Results:
        with self._locked():
            return self._read()

    def of(self, agent: str) -> dict[str, CheckResult]:
        return self.load().get(agent, {})

    def put(self, agent: str, result: CheckResult, output: str | None = None) -> None:
        """Record `result` as the agent's last of that check (and its whole output)."""
        if output is not None:
            write_private(self.log_path(agent, result.name), output)
        with self._locked():
            data = self._read()
            data.setdefault(agent, {})[result.name] = result
            self._write(data)

    def claim(self, agent: str, name: str, commit: str, run: str, force: bool = False) -> bool:
        """Mark the check running on `commit` by this process, unless it has a result for that
        commit already, or another live process runs it (two dashboards see one commit);
        `force`: in any case (the user asked)."""
        with self._locked():
            data = self._read()
            last = data.get(agent, {}).get(name)
            if not force and last is not None and last.commit == commit and \
                    last.shown() != STALE:
                return False
            data.setdefault(agent, {})[name] = CheckResult(name, RUNNING, commit, run=run,
                                                           pid=os.getpid())
            self._write(data)
            return True

    def forget(self, agent: str) -> None:
        """The agent was removed: its results go too."""
        with self._locked():
            data = self._read()
            if data.pop(agent, None) is not None:
                self._write(data)

    def log_path(self, agent: str, name: str) -> Path:
        return self.dir / LOGS / agent / f"{name}.log"

    def _locked(self) -> AbstractContextManager[None]:
        return locked(self.dir / LOCK)

    def _read(self) -> Results:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # (results are made again by the next run: nothing of the user's lost)
        return {agent: {name: CheckResult.from_json(r) for name, r in checks.items()}
                for agent, checks in raw.get("agents", {}).items() if isinstance(checks, dict)}

    def _write(self, data: Results) -> None:
        payload = {"version": 1, "written_at": time.time(),
                   "agents": {agent: {n: asdict(r) for n, r in sorted(checks.items())}
                              for agent, checks in sorted(data.items())}}
        atomic_write(self.path, json.dumps(payload, indent=2) + "\n", mode=0o600)


def branch_tip(common_dir: Path, branch: str) -> str | None:
    """The commit a local branch names, read from the ref files (no git started: `ls`)."""
    return read_ref(common_dir, f"refs/heads/{branch}", common_dir / "packed-refs")


def chips(results: dict[str, CheckResult], tip: str | None) -> str:
    """The sidebar's chips: ✔tests ✖lint …running ~stale."""
    marks = {PASS: "✔", FAIL: "✖", RUNNING: "…", STALE: "~"}
    return " ".join(f"{marks.get(r.shown(tip), '?')}{name}"
                    for name, r in sorted(results.items()))


def results_json(state_dir: Path, common_dir: Path, branches: dict[str, str]
                 ) -> dict[str, list[dict[str, Any]]]:
    """{agent: [{name, status, commit, seconds, output_tail}]} for the agents given (name ->
    branch): each one's last results, one for a commit its branch has moved past as stale."""
    stored = CheckStore(state_dir).load()
    return {agent: [r.as_json(branch_tip(common_dir, branch))
                    for _, r in sorted(stored.get(agent, {}).items())]
            for agent, branch in branches.items()}
