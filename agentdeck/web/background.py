"""`agentdeck serve --background`: the dashboard's web server beside the session host daemon,
in a session of its own (closing the terminal that started it does not stop it), its output
in `serve.log` under the registry folder (0600), until `agentdeck daemon stop` stops it with
the daemon. The usual case once the dashboard is closed: the agents run in the daemon, the
phone answers through this server.

The server records itself in `serve.pid` (its pid and the process's start time, so a pid the
system gave to another process since is never signalled) and `serve.url` (its address, which
notifications point to); both go when it ends."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from agentdeck.core.errors import OperationError
from agentdeck.core.files import open_private, private_dir, write_private
from agentdeck.core.proctree import end_tree

PID_FILE = "serve.pid"
LOG_FILE = "serve.log"
URL_FILE = "serve.url"  # where notifications point (core/oversight/alerts.py): never a token


@dataclass(frozen=True)
class Serving:
    pid: int
    url: str  # its address, "" when it has not said yet


def record(state_dir: Path, url: str) -> None:
    """This process serves: its pid (with its start time) and its address."""
    private_dir(state_dir)
    write_private(state_dir / URL_FILE, url)
    started = psutil.Process().create_time()
    write_private(state_dir / PID_FILE, f"{os.getpid()} {started!r}\n")


def forget(state_dir: Path) -> None:
    """This process no longer serves (its records go; another server's are left)."""
    if _recorded(state_dir) == os.getpid():
        for name in (PID_FILE, URL_FILE):
            (state_dir / name).unlink(missing_ok=True)


def running(state_dir: Path) -> Serving | None:
    """The server recorded for this repository, if it still runs."""
    pid = _recorded(state_dir, check=True)
    if pid is None:
        return None
    url = ""
    with contextlib.suppress(OSError):
        url = (state_dir / URL_FILE).read_text().strip()
    return Serving(pid, url)


def start(state_dir: Path, argv: list[str], address: tuple[str, int],
          wait: float = 30.0) -> Serving:
    """Run `argv` (a `serve --detached`) in the background and wait until it listens at
    `address`."""
    now = running(state_dir)
    if now is not None:
        raise OperationError(f"agentdeck serve already runs in the background (pid {now.pid}"
                             + (f", {now.url}" if now.url else "") + "): `agentdeck daemon "
                             "stop` stops it with the session host")
    private_dir(state_dir)
    log = state_dir / LOG_FILE
    with open_private(log, "ab") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, close_fds=True, cwd=state_dir)
    deadline = time.monotonic() + wait
    while True:
        serving = running(state_dir)
        if serving is not None and serving.pid == proc.pid and _listens(*address):
            return serving
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                stop_pid(proc.pid)
            tail = log.read_text(errors="replace").strip().splitlines()[-1:]
            raise OperationError("agentdeck serve did not start in the background"
                                 + (f": {tail[0]}" if tail else "") + f" (log: {log})")
        time.sleep(0.05)


def stop(state_dir: Path, wait: float = 10.0) -> int | None:
    """Stop the background server (and the dashboards its pages run); its pid, or None when
    none ran."""
    serving = running(state_dir)
    if serving is None:
        return None
    stop_pid(serving.pid, wait)
    for name in (PID_FILE, URL_FILE):
        (state_dir / name).unlink(missing_ok=True)
    return serving.pid


def stop_pid(pid: int, wait: float = 10.0) -> None:
    # SIGTERM first: the server closes its pages (each page's dashboard quits); what is
    # left after `wait` ends with its tree
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    with contextlib.suppress(psutil.Error):
        psutil.Process(pid).wait(wait)
    end_tree(pid, grace=2.0)


def _recorded(state_dir: Path, check: bool = False) -> int | None:
    """The pid in serve.pid; with `check`, only while that very process runs."""
    try:
        pid_text, _, started = (state_dir / PID_FILE).read_text().strip().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    if not check:
        return pid
    try:
        proc = psutil.Process(pid)
        alive = proc.status() != psutil.STATUS_ZOMBIE
        same = abs(proc.create_time() - float(started)) < 0.01
    except (psutil.Error, ValueError):
        return None
    return pid if alive and same else None


def _listens(host: str, port: int) -> bool:
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False
