"""Install commands per worktree, all worktrees in parallel (the article's `& … wait`).

Each worktree runs its own commands in order and stops at the first failure; a failure in one
worktree never stops another. Output is reported line by line as it arrives and the last lines
are kept for the failure report. A command that runs past its timeout is ended, its whole
process tree with it, and fails; so is every command still running when `up` is interrupted
(Ctrl-C, SIGTERM): each runs in a session of its own, which a terminal's Ctrl-C never reaches.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from agentdeck.core.proctree import end_tree

TAIL_LINES = 15
_SPLIT = re.compile(rb"\r\n|\r|\n")  # progress bars redraw with \r: each redraw is a line


@dataclass(frozen=True)
class SetupJob:
    name: str
    cwd: Path
    commands: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)  # over `base`
    base: Mapping[str, str] | None = None  # the inherited environment; None: this process's
    timeout: float = 900.0  # seconds per command


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


_RUNNING: set[int] = set()  # pids of the setup commands running now
_RUNNING_LOCK = threading.Lock()


def stop_running() -> None:
    """End every setup command still running, and what each started."""
    with _RUNNING_LOCK:
        pids = list(_RUNNING)
    for pid in pids:
        end_tree(pid, grace=2.0)


def run_setups(jobs: Sequence[SetupJob], listener: Listener | None = None) -> list[SetupResult]:
    """Run every job at once; returns results in the order of `jobs`. Interrupted (Ctrl-C,
    or SIGTERM in the main thread), it ends the commands it started before it goes."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _run_all(jobs, listener)
    except KeyboardInterrupt:
        stop_running()
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def _run_all(jobs: Sequence[SetupJob], listener: Listener | None) -> list[SetupResult]:
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
        while thread.is_alive():  # (a plain join() would not wake for Ctrl-C)
            thread.join(0.2)
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
    env = {**(os.environ if job.base is None else job.base), **job.env}
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
        with _RUNNING_LOCK:
            _RUNNING.add(proc.pid)
        timed_out = threading.Event()

        def too_long(pid: int = proc.pid, flag: threading.Event = timed_out) -> None:
            flag.set()
            end_tree(pid, grace=5.0)

        watchdog = threading.Timer(job.timeout, too_long)
        watchdog.daemon = True
        watchdog.start()
        assert isinstance(proc.stdout, io.BufferedReader)  # read1: what has arrived, no waiting
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
        watchdog.cancel()
        with _RUNNING_LOCK:
            _RUNNING.discard(proc.pid)
        if timed_out.is_set():
            tail.append(f"agentdeck: ended after {_span(job.timeout)}, its setup_timeout")
            return _finish(job, emit, started, tail, command, code)
        if code != 0:
            return _finish(job, emit, started, tail, command, code)
    return _finish(job, emit, started, tail, None, 0)


def _span(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _finish(job: SetupJob, emit: Listener, started: float, tail: deque[str],
            failed: str | None, code: int | None) -> SetupResult:
    result = SetupResult(job.name, ok=failed is None, seconds=time.monotonic() - started,
                         failed_command=failed, returncode=code, tail=list(tail))
    emit(SetupEvent(job.name, "done", result=result))
    return result
