"""Starting, finding and stopping the session host daemon of a repository."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agentdeck.core.errors import AgentdeckError, OperationError
from agentdeck.core.files import open_private, private_dir
from agentdeck.core.hostlock import PID_FILE, daemon_socket, hosting_dashboard
from agentdeck.daemon.client import RemoteHost
from agentdeck.daemon.connection import DaemonGone, DaemonMismatch

LOG_FILE = "daemon.log"


def connect(state_dir: Path) -> RemoteHost | None:
    """The running daemon, or None."""
    try:
        return RemoteHost(daemon_socket(state_dir))
    except DaemonGone:
        return None


def ensure(state_dir: Path, fleet_path: Path | None, wait: float = 15.0,
           connected: RemoteHost | None = None) -> RemoteHost:
    """Attach to the repository's daemon, starting it first when none runs (`connected`: a
    connection to it already made)."""
    host = connected or connect(state_dir)
    if host is None:
        dashboard = hosting_dashboard(state_dir)
        if dashboard is not None:
            raise OperationError(
                f"this repository's agents run inside a dashboard (pid {dashboard}: "
                "`agentdeck --no-daemon`); use that one, or quit it first — "
                "starting them here too would run each agent twice")
        start(state_dir, fleet_path)
        deadline = time.monotonic() + wait
        while host is None:
            if time.monotonic() > deadline:
                log = state_dir / LOG_FILE
                tail = log.read_text(errors="replace").strip().splitlines()[-1:] if (
                    log.exists()) else []
                raise OperationError("the agentdeck daemon did not start"
                                     + (f": {tail[0]}" if tail else "") + f" (log: {log})")
            time.sleep(0.05)
            host = connect(state_dir)
    if fleet_path is not None:
        host.configure(fleet_path)
    return host


def start(state_dir: Path, fleet_path: Path | None) -> int:
    """Start the daemon in the background, in its own session (so closing the terminal that
    started it does not stop it); returns its pid."""
    private_dir(state_dir)
    argv = [sys.executable, "-m", "agentdeck", "daemon", "run", "--state-dir", str(state_dir)]
    if fleet_path is not None:
        argv += ["--fleet", str(fleet_path)]
    with open_private(state_dir / LOG_FILE, "ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, close_fds=True, cwd=state_dir,
                                env=_host_environment(fleet_path))
    return proc.pid


def _host_environment(fleet_path: Path | None) -> dict[str, str]:
    """This environment less the variables the fleet hands to agents (their secrets): the
    daemon starts each agent with the environment its client computed, and needs none."""
    from agentdeck.core.fleet.schema import load_fleet
    from agentdeck.core.isolation.envpolicy import host_environment

    try:
        return host_environment(load_fleet(fleet_path)) if fleet_path else dict(os.environ)
    except AgentdeckError:  # the clients report a broken fleet file; the daemon still starts
        return dict(os.environ)


def pid_of(state_dir: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int((state_dir / PID_FILE).read_text())
    return None


def stop(state_dir: Path, wait: float = 10.0) -> bool:
    """Stop the daemon (and so its agents). False when none was running. One of another
    agentdeck version (it refuses to talk) is ended by its pid: SIGTERM, which it handles as a
    shutdown."""
    try:
        host = connect(state_dir)
    except DaemonMismatch:
        pid = pid_of(state_dir)
        if pid is None:
            return False
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    else:
        if host is None:
            return False
        pid = host.daemon_pid
        with contextlib.suppress(OperationError):
            host.shutdown_daemon()
        host.close()
    deadline = time.monotonic() + wait
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours (tests start the daemon directly) counts as gone
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    # and so does another's: the daemon runs in a session of its own, adopted by init, and an
    # init that reaps late (a container's, a VM's: 1.6 s here) held every `daemon stop` so long
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[:1] == [b"Z"]
    except OSError:  # (no /proc: not Linux, where the wait above is all there is)
        return False
