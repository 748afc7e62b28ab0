"""Install commands per worktree, all worktrees in parallel (the article's `& … wait`).

Each worktree runs its own commands in order and stops at the first failure; a failure in one
worktree never stops another. Output is reported line by line as it arrives and the last lines
are kept for the failure report.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

TAIL_LINES = 15
_SPLIT = re.compile(rb"\r\n|\r|\n")  # progress bars redraw with \r: each redraw is a line


@dataclass(frozen=True)
class SetupJob:
    name: str
    cwd: Path
    commands: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class SetupResult:
    name: str
    ok: bool
    seconds: float
    failed_command: str | None = None
    returncode: int | None = None
    tail: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SetupEvent:
    name: str
    kind: str  # start | command | output | done
    text: str = ""
    result: SetupResult | None = None


Listener = Callable[[SetupEvent], None]


def run_setups(jobs: Sequence[SetupJob], listener: Listener | None = None) -> list[SetupResult]:
    """Run every job at once; returns results in the order of `jobs`."""
    emit = _serialised(listener)
    results: dict[str, SetupResult] = {}
    threads = [
        threading.Thread(target=lambda j=job: results.__setitem__(j.name, _run_job(j, emit)),
                         name=f"setup-{job.name}", daemon=True)
        for job in jobs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [results[job.name] for job in jobs]


def _serialised(listener: Listener | None) -> Listener:
    lock = threading.Lock()

    def emit(event: SetupEvent) -> None:
        if listener is not None:
            with lock:
                listener(event)

    return emit


def _run_job(job: SetupJob, emit: Listener) -> SetupResult:
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    emit(SetupEvent(job.name, "start"))
    env = {**os.environ, **job.env}
    for command in job.commands:
        emit(SetupEvent(job.name, "command", command))
        tail.append(f"$ {command}")
        try:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", command], cwd=job.cwd, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            tail.append(str(exc))
            return _finish(job, emit, started, tail, command, None)
        assert proc.stdout is not None
        pending = b""
        while chunk := proc.stdout.read1(65536):
            pieces = _SPLIT.split(pending + chunk)
            pending = pieces.pop()
            for piece in pieces:
                line = piece.decode("utf-8", "replace").rstrip()
                if line:
                    tail.append(line)
                    emit(SetupEvent(job.name, "output", line))
        if pending.strip():
            line = pending.decode("utf-8", "replace").rstrip()
            tail.append(line)
            emit(SetupEvent(job.name, "output", line))
        code = proc.wait()
        if code != 0:
            return _finish(job, emit, started, tail, command, code)
    return _finish(job, emit, started, tail, None, 0)


def _finish(job: SetupJob, emit: Listener, started: float, tail: deque[str],
            failed: str | None, code: int | None) -> SetupResult:
    result = SetupResult(job.name, ok=failed is None, seconds=time.monotonic() - started,
                         failed_command=failed, returncode=code, tail=list(tail))
    emit(SetupEvent(job.name, "done", result=result))
    return result
