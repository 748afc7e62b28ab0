"""Messages that wait for an agent's prompt to be answered.

Nothing but an approval answers a prompt (DESIGN.md, oversight invariant 4): a message typed
into an agent whose permission menu is up would pick an option ("p" of "please" is Codex's
"don't ask again") or become the answer. So a message to an agent with a pending prompt is held
here, shown as held, and typed once the prompt has been answered and the agent is back at its
input (idle, no prompt): typed into an agent still at work it could land in the next prompt
that agent draws. Messages to one agent go in the order they were sent.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from agentdeck.core.agents.delivery import type_into
from agentdeck.core.agents.sessions import Event, SessionHost
from agentdeck.core.errors import OperationError
from agentdeck.core.listeners import Listeners
from agentdeck.core.oversight.approvals import QueueView

SENT, HELD = "sent", "held"


class Outbox:
    def __init__(self, host: SessionHost, queue: QueueView,
                 deliver: Callable[[SessionHost, str, str], bool] = type_into) -> None:
        self.host, self.queue, self._deliver = host, queue, deliver
        self._held: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._busy: set[str] = set()  # agents a delivery thread is typing into
        self._changed: Listeners[[]] = Listeners("the outbox")
        self._stops = [queue.on_change(self._wake), host.subscribe(self._on_event)]

    def held(self, name: str) -> int:
        with self._lock:
            return len(self._held.get(name, ()))

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` when what is held changes; returns the function that stops it."""
        return self._changed.add(listener)

    def send(self, name: str, text: str) -> str:
        """Type `text` into `name` now (blocking), or hold it while a prompt waits there."""
        with self._lock:
            if self._held.get(name) or self._blocked(name):
                self._held.setdefault(name, []).append(text)
                held = True
            else:
                held = False
        if held:
            self._changed()
            return HELD
        self._deliver(self.host, name, text)
        return SENT

    def _blocked(self, name: str) -> bool:
        if self.queue.entry_for(name) is not None:
            return True
        with contextlib.suppress(KeyError):
            return self.host.info(name).detection.prompt is not None
        return False

    def _ready(self, name: str) -> bool:
        """A held message may go: the agent waits at its input, no prompt anywhere."""
        if self._blocked(name):
            return False
        with contextlib.suppress(KeyError):
            info = self.host.info(name)
            return info.process == "running" and info.state == "idle"
        return False

    def _on_event(self, event: Event) -> None:
        if event.kind == "state":
            self._wake()

    def _wake(self) -> None:
        with self._lock:
            ready = [n for n, texts in self._held.items()
                     if texts and n not in self._busy and self._ready(n)]
            self._busy.update(ready)
        for name in ready:
            threading.Thread(target=self._flush, args=(name,), daemon=True).start()

    def _flush(self, name: str) -> None:
        try:
            while True:
                with self._lock:
                    texts = self._held.get(name)
                    if not texts or not self._ready(name):
                        return
                    text = texts.pop(0)
                    if not texts:
                        del self._held[name]
                self._changed()
                with contextlib.suppress(OperationError, OSError, KeyError, ValueError):
                    self._deliver(self.host, name, text)
        finally:
            with self._lock:
                self._busy.discard(name)

    def close(self) -> None:
        for stop in self._stops:
            stop()
