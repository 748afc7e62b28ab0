"""`agentdeck daemon attach --stdio`: this repository's session host on stdin and stdout, byte
for byte — what another machine's dashboard runs through ssh to reach the agents here
(daemon/ssh_link.py). The daemon is started first when none runs; its socket stays 0600 and
nothing listens on a network port: ssh carries the frames."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import sys
import threading
from pathlib import Path
from typing import BinaryIO

from agentdeck.core.hostlock import daemon_socket
from agentdeck.daemon import lifecycle

CHUNK = 1 << 16


def bridge(state_dir: Path, fleet_path: Path | None, stdin: io.BufferedIOBase | None = None,
           stdout: int = 1) -> int:
    """Copy `stdin` (this process's, by default) to the daemon's socket and its replies to the
    file descriptor `stdout` until either side ends."""
    # stdin's buffered reader, never fd 0 itself: `--fleet-stdin` read the fleet sent ahead of
    # the frames through it, and the first frames may already sit in its buffer
    source = stdin if stdin is not None else _buffered(sys.stdin.buffer)
    lifecycle.ensure(state_dir, fleet_path).close()  # running, and configured with the fleet
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(daemon_socket(state_dir)))

    def upstream() -> None:
        # the dashboard's requests; its end (ssh closed) ends this client at the daemon
        with contextlib.suppress(OSError, ValueError):
            while chunk := source.read1(CHUNK):
                sock.sendall(chunk)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_WR)

    threading.Thread(target=upstream, name="agentdeck-bridge-up", daemon=True).start()
    try:
        while chunk := sock.recv(CHUNK):
            view = memoryview(chunk)
            while view:
                view = view[os.write(stdout, view):]
    except OSError:
        return 1  # the ssh side went away: that dashboard is gone, the agents go on
    finally:
        sock.close()
    return 0


def _buffered(stream: BinaryIO) -> io.BufferedIOBase:
    """`sys.stdin.buffer` as what it is (a BufferedReader: it has read1, which returns what
    has arrived without waiting for a whole chunk); typeshed only promises a BinaryIO."""
    if not isinstance(stream, io.BufferedIOBase):
        raise OSError("stdin is not a buffered stream")
    return stream
