"""Unix sockets that are the user's alone — the approvals hooks' and the session host
daemon's: born mode 0600 (no window where another user could connect), in a folder only the
user enters, and every peer's uid checked."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import socket
import stat
import struct
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from agentdeck.core import files
from agentdeck.core.errors import OperationError

_MAX_SUN_PATH = 100  # sockaddr_un holds 108 bytes on Linux, 104 on macOS


def socket_path(state_dir: Path, name: str) -> Path:
    """Where a socket of this repository lives: in the registry folder when the path fits in a
    socket address, else in a private folder under the temp dir named after the registry."""
    path = state_dir / name
    if len(os.fsencode(path)) <= _MAX_SUN_PATH:
        return path
    digest = hashlib.sha1(os.fsencode(state_dir.resolve())).hexdigest()[:16]
    return runtime_dir() / f"{digest}-{name}"


def runtime_dir() -> Path:
    """The folder for sockets whose path would be too long, `agentdeck-UID` in the temp dir:
    made 0700 by us, or — when it is there already — used only if it is a real folder (not a
    link), ours, and nobody else may write in it. Anyone can make that name first in a shared
    /tmp, and whoever owns it could replace our sockets with theirs: such a folder is refused
    (an error saying what to do), never used nor changed."""
    folder = _runtime_path()
    with contextlib.suppress(FileExistsError):
        os.mkdir(folder, 0o700)
    try:
        # no link followed, the folder itself checked and tightened through one descriptor
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        _refuse(folder, "is a link or not a folder" if exc.errno in (errno.ELOOP, errno.ENOTDIR)
                else os.strerror(exc.errno or 0).lower())
    try:
        info = os.fstat(fd)
        if info.st_uid != os.getuid():
            _refuse(folder, f"belongs to another user (uid {info.st_uid})")
        if info.st_mode & 0o022:
            _refuse(folder, f"may be written by others (mode {stat.S_IMODE(info.st_mode):04o})")
        if stat.S_IMODE(info.st_mode) != 0o700:
            os.fchmod(fd, 0o700)  # ours, only readable by others: nothing planted, tighten it
    finally:
        os.close(fd)
    return folder


def _runtime_path() -> Path:
    return Path(tempfile.gettempdir()) / f"agentdeck-{os.getuid()}"


def _refuse(folder: Path, why: str) -> NoReturn:
    raise OperationError(f"{folder} {why}: agentdeck keeps its sockets there only when the "
                         "folder is yours alone; remove it, or set TMPDIR to a folder of yours")


def private_dir(path: Path) -> None:
    """Make a socket's folder, the user's alone."""
    if path.parent == _runtime_path():
        runtime_dir()  # in the shared temp dir: checked, never forced into shape
    else:
        files.private_dir(path.parent)


def listen(path: Path) -> socket.socket:
    """A listening socket at `path`, replacing a stale socket file there — never a live one
    (something answers on it: OSError)."""
    private_dir(path)
    if path.exists():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except OSError:
            pass  # stale: nobody listens
        else:
            raise OSError(f"{path} is in use by a running process")
        finally:
            probe.close()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    sock.listen(16)
    return sock


def serve(sock: socket.socket, stopped: threading.Event,
          handle: Callable[[socket.socket], None], name: str,
          own_namespace: bool = False) -> threading.Thread:
    """Accept on a thread of its own, each connection of this user handled on its own thread
    (the handler closes it); others are closed at once. With `own_namespace`, also those of a
    process in another pid namespace: a sandboxed agent (core/agents/sandbox.py) is one, and the
    session host's control socket, which answers prompts, is never its to use."""

    def accept() -> None:
        while not stopped.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return  # the socket was closed: stopping
            if not peer_uid_ok(conn) or (own_namespace and not peer_in_our_namespace(conn)):
                conn.close()
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, name=name, daemon=True)
    thread.start()
    return thread


def peer_in_our_namespace(conn: socket.socket) -> bool:
    """Whether the peer runs in this process's pid namespace (not Linux: True)."""
    opt = getattr(socket, "SO_PEERCRED", None)
    if opt is None:
        return True
    pid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, opt, struct.calcsize("3i")))[0]
    try:
        return pid > 0 and os.stat(f"/proc/{pid}/ns/pid").st_ino == \
            os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # gone already, or not ours to look at
        return False


def peer_uid_ok(conn: socket.socket) -> bool:
    opt = getattr(socket, "SO_PEERCRED", None)
    if opt is None:  # not Linux: the 0600 socket in a 0700 folder is the guard
        return True
    creds = conn.getsockopt(socket.SOL_SOCKET, opt, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()
