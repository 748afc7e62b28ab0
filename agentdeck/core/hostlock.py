"""The repository's one session host: a lock (flock) that whatever runs the agents holds —
the daemon, or a dashboard that hosts its agents itself (`agentdeck --no-daemon`) — so two
never run every agent twice in the same worktrees."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from agentdeck.core.files import private_dir

LOCK_FILE = "daemon.lock"


def hold_daemon_lock(state_dir: Path, who: str = "daemon") -> int | None:
    """The repository's one-session-host lock, held (flock) until its descriptor closes (the
    process's life, for a daemon): the descriptor, or None when another session host holds it
    (a second one would run every agent twice, and unlink the first one's socket when it
    stopped). `who` ("daemon", or "dashboard" for one that hosts its agents itself) and the pid
    are written in the file, for whoever finds it held."""
    private_dir(state_dir)
    fd = os.open(state_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{who} {os.getpid()}\n".encode(), 0)
    return fd


def lock_holder(state_dir: Path) -> str | None:
    """"daemon PID" or "dashboard PID" when a session host holds the lock, else None."""
    try:
        fd = os.open(state_dir / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:  # held
            return os.pread(fd, 100, 0).decode(errors="replace").strip() or "daemon"
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def hosting_dashboard(state_dir: Path) -> str | None:
    """The pid of a dashboard that hosts this repository's agents itself (`agentdeck
    --no-daemon`), or None (a daemon hosts them, or nothing does)."""
    holder = lock_holder(state_dir)
    return holder.split()[-1] if holder is not None and holder.startswith("dashboard") else None


DAEMON_SOCKET = "daemon.sock"
PID_FILE = "daemon.pid"  # the running daemon's pid, written by it


def daemon_socket(state_dir: Path) -> Path:
    """Where the repository's session host listens (whether or not one runs)."""
    from agentdeck.core.unixsock import socket_path

    return socket_path(state_dir, DAEMON_SOCKET)
