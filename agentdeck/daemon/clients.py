"""The session host's side of one attached dashboard: what goes out to it is queued and sent
by a thread of its own, so a slow client never holds up an agent's PTY reader."""

from __future__ import annotations

import collections
import contextlib
import socket
import threading
from typing import Any

from agentdeck.daemon import frames

CLIENT_BACKLOG = 64 << 20  # a client this far behind is dropped (it can attach again)
# Agents' output waits this long for more before it goes out (anything else goes at once): 40
# streaming agents wrote thousands of frames a second, each a wakeup here and a parse in the
# dashboard, which draws at most 60 times a second anyway.
OUTPUT_GATHER = 0.01


class Client:
    """One attached dashboard: frames go out through its own thread, so a slow client never
    holds up an agent's PTY reader. A frame that is not output (a queue change, a reply), with
    nothing before it waiting, is sent by the thread that pushes it, as far as the socket takes
    it without waiting: handed to the writer, a prompt's queue entry waited for that thread to
    wake and win the GIL from every busy reader."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.attached: set[str] = set()
        self.home: tuple[int, int] | None = None  # the home size this dashboard gives agents
        self._out: collections.deque[tuple[dict[str, Any], bytes]] = collections.deque()
        self._queued = 0
        self._urgent = False  # something other than output waits: it goes out now
        self._head = b""  # the rest of a frame sent in part: it goes first
        self._busy = False  # a thread is sending (the writer, or one pushing)
        self._cond = threading.Condition()
        self.closed = False
        threading.Thread(target=self._write, daemon=True).start()

    def push(self, header: dict[str, Any], payload: bytes = b"") -> None:
        urgent = header.get("push") != "output"
        with self._cond:
            if self.closed:
                return
            if self._queued > CLIENT_BACKLOG:
                self.close()
                return
            if not (urgent and not self._out and not self._head and not self._busy):
                idle = not self._out  # (else the writer is awake, or gathering output)
                self._out.append((header, payload))
                self._queued += len(payload)
                self._urgent = self._urgent or urgent
                if idle or self._urgent:
                    self._cond.notify()
                return
            self._busy = True
        data = frames.encode(header, payload)
        try:
            sent = self.sock.send(data, socket.MSG_DONTWAIT)
        except BlockingIOError:
            sent = 0
        except OSError:
            sent = len(data)
            self.close()
        with self._cond:
            if sent < len(data):
                self._head = data[sent:]
            self._busy = False
            self._cond.notify()

    def _write(self) -> None:
        while True:
            with self._cond:
                while not self.closed and (self._busy or not (self._out or self._head)):
                    self._cond.wait()
                if not self._urgent and not self._head:
                    self._cond.wait_for(lambda: self._urgent or self.closed, OUTPUT_GATHER)
                if self.closed:
                    return
                batch, head = list(self._out), self._head
                self._out.clear()
                self._head = b""
                self._queued = 0
                self._urgent = False
                self._busy = True  # (the pushing threads queue behind this batch)
            try:
                self.sock.sendall(b"".join([head, *(part for h, p in _merged(batch)
                                                    for part in frames.encode_parts(h, p))]))
            except OSError:
                self.close()
                return
            with self._cond:
                self._busy = False

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


def _merged(batch: list[tuple[dict[str, Any], bytes]]) -> list[tuple[dict[str, Any], list[bytes]]]:
    """Consecutive output of one session as one frame (its payload's pieces, joined with the
    rest of the batch once): a flood costs the client one parse per batch, not one per PTY
    read."""
    out: list[tuple[dict[str, Any], list[bytes]]] = []
    for header, payload in batch:
        last = out[-1][0] if out else None
        if (last is not None and header.get("push") == "output" == last.get("push")
                and header["name"] == last["name"]):
            out[-1][1].append(payload)
        else:
            out.append((header, [payload]))
    return out
