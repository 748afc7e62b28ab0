"""Listeners: the one way a part of agentdeck tells others that something changed.

Sessions, the approvals queue, the outbox, the daemon's clients and the host set each keep a
list of callbacks. They share one policy: every listener is called, in the order it subscribed,
from whatever thread the change happened on; a listener that raises is logged and the others
still run. A broken listener (a closed dashboard's, a UI that went away) must never stop the
PTY reader, the queue or the socket reader that called it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")

log = logging.getLogger(__name__)


class Listeners(Generic[P]):
    """A list of callbacks taking the arguments `P`. `add` returns the function that removes it
    again (calling it twice is harmless); `__call__` calls every listener with the arguments."""

    def __init__(self, what: str) -> None:
        self._what = what  # names the change in the log line of a failing listener
        self._lock = threading.Lock()
        self._items: list[Callable[P, object]] = []

    def add(self, listener: Callable[P, object]) -> Callable[[], None]:
        with self._lock:
            self._items.append(listener)

        def remove() -> None:
            self.discard(listener)

        return remove

    def discard(self, listener: Callable[P, object]) -> None:
        with self._lock:
            if listener in self._items:
                self._items.remove(listener)

    def __len__(self) -> int:
        return len(self._items)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> None:
        with self._lock:
            items = list(self._items)  # a listener may add or remove listeners while called
        for listener in items:
            try:
                listener(*args, **kwargs)
            except Exception:
                log.exception("a listener of %s failed", self._what)
