"""One connection to a session host daemon: frames out and in, each reply matched to the
request that waits for it, pushes handed to whoever holds the connection.

The same class carries this machine's daemon (its unix socket) and another host's (one end of
a socket pair whose other end is `ssh HOST agentdeck daemon attach --stdio`:
daemon/ssh_link.py). A dropped connection fails the requests cut off (never sent again: an
answer goes once) and sets `closed`; its holder decides whether to dial again (`redial`: the
ssh link does, with backoff; a local dashboard reports the daemon gone).
"""

from __future__ import annotations

import contextlib
import itertools
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from agentdeck import __version__
from agentdeck.core.agents.sessions.host import AlreadyRunning
from agentdeck.core.errors import OperationError
from agentdeck.core.oversight.approvals import StaleAnswer
from agentdeck.daemon import frames


class DaemonGone(OperationError):
    """The session host daemon is not reachable."""


class DaemonMismatch(OperationError):
    """The session host daemon is another version of agentdeck."""


MISMATCH = ("the session host runs agentdeck {theirs}, this is {ours}: restart it with "
            "`agentdeck daemon restart` (its agents stop; `agentdeck start` starts them again, "
            "resuming)")
# a refused request's "type" → the exception raised here (the daemon's handler raised its kin)
ERRORS: dict[str, type[Exception]] = {"StaleAnswer": StaleAnswer,
                                      "OperationError": OperationError,
                                      "DaemonMismatch": DaemonMismatch,
                                      "KeyError": KeyError, "ValueError": ValueError,
                                      "AlreadyRunning": AlreadyRunning}

Push = Callable[[dict[str, Any], bytes], None]
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # seconds between reconnection attempts


def unix_socket(path: Path) -> socket.socket:
    """A stream connected to the daemon listening at `path` (DaemonGone: none listens)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError as exc:
        sock.close()
        raise DaemonGone(f"no agentdeck daemon at {path} ({exc.strerror or exc})") from None
    return sock


class Connection:
    """Requests and their replies over one connected stream to a daemon. Pushes go to `on_push`
    on the reader's thread, in the order they arrived (a reply may be read between two
    pushes: the holder decides what runs where); `on_closed` runs once the stream ends."""

    def __init__(self, sock: socket.socket, timeout: float, on_push: Push,
                 on_closed: Callable[[], None] = lambda: None) -> None:
        self.timeout = timeout
        self.closed = threading.Event()
        self._sock = sock
        self._on_push = on_push
        self._on_closed = on_closed
        self._send_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._waiting: dict[int, Future[tuple[dict[str, Any], bytes]]] = {}
        self._reader = threading.Thread(target=self._read, name="agentdeck-daemon-client",
                                        daemon=True)
        self._reader.start()

    def hello(self) -> dict[str, Any]:
        """The first request: the daemon's pid, sessions and queue, or DaemonMismatch when it
        speaks another protocol (then this connection is closed)."""
        try:
            hello = self.call("hello", protocol=frames.PROTOCOL, version=__version__)
            if hello.get("protocol") != frames.PROTOCOL:
                raise DaemonMismatch(MISMATCH.format(
                    theirs=hello.get("version", "(an older one)"), ours=__version__))
        except OperationError:
            self.close()
            raise
        return dict(hello)

    def request(self, op: str, payload: bytes = b"", **fields: Any) -> tuple[Any, bytes]:
        """Send `op` and wait for its reply: (result, payload). A refusal raises the error the
        daemon named; a connection lost meanwhile, DaemonGone (never sent again)."""
        if self.closed.is_set():
            raise DaemonGone("the agentdeck daemon connection is closed")
        rid = next(self._ids)
        future: Future[tuple[dict[str, Any], bytes]] = Future()
        self._waiting[rid] = future
        try:
            with self._send_lock:
                frames.send(self._sock, {"op": op, "id": rid, **fields}, payload)
            header, body = future.result(self.timeout)
        except OSError as exc:
            raise DaemonGone(f"the agentdeck daemon went away ({exc})") from None
        finally:
            self._waiting.pop(rid, None)
        if not header.get("ok"):
            error = ERRORS.get(header.get("type", ""), OperationError)
            raise error(header.get("error", "the daemon refused"))
        return header.get("result"), body

    def call(self, op: str, payload: bytes = b"", **fields: Any) -> Any:
        """`request`'s result alone."""
        return self.request(op, payload, **fields)[0]

    def post(self, op: str, **fields: Any) -> None:
        """Send `op` without waiting for (or getting) a reply: from the UI's event loop, where
        nothing may wait. Lost silently when the connection is down."""
        if self.closed.is_set():
            return
        with contextlib.suppress(OSError), self._send_lock:
            frames.send(self._sock, {"op": op, "id": 0, **fields})

    def _read(self) -> None:
        try:
            while True:
                header, payload = frames.recv(self._sock)
                if "re" in header:
                    future = self._waiting.get(header["re"])
                    if future is not None:
                        future.set_result((header, payload))
                else:
                    self._on_push(header, payload)
        except (frames.Closed, OSError, ValueError):
            pass
        finally:
            self.closed.set()
            self._on_closed()
            for future in list(self._waiting.values()):
                if not future.done():
                    future.set_exception(OSError("connection closed"))

    def close(self) -> None:
        self.closed.set()
        self._on_closed()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()


def redial(dial: Callable[[], None], stopping: threading.Event,
           failed: Callable[[Exception], None]) -> None:
    """Call `dial` until it returns (connected), BACKOFF's delays before the attempts (then its
    last, for as long as it takes); `failed(why)` after each failed one. Returns at once when
    `stopping` is set."""
    for delay in itertools.chain(BACKOFF, itertools.repeat(BACKOFF[-1])):
        if stopping.wait(delay):
            return
        try:
            dial()
            return
        except Exception as exc:  # (whatever it was: keep trying, say why)
            failed(exc)
