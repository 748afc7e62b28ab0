"""What the approvals queue knows, whichever channel a prompt came by: its entries, what each
channel saw of them, the memories that keep an answered prompt from being queued again, and
the bookkeeping every channel shares (an entry added, forgotten, dropped; a decision recorded
in the history and the audit log; listeners told).

The channels (`screen.ScreenChannel`, `hooks.HookChannel`) and the answering
(`answering.ApprovalQueue`) are parts of one state machine under one lock: they are classes over
this one, not objects of their own, so every transition still happens under `_lock` at once.
"""

from __future__ import annotations

import itertools
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from agentdeck.core.agents.sessions import SessionHost
from agentdeck.core.fleet.spec import ApprovalRule
from agentdeck.core.listeners import Listeners
from agentdeck.core.oversight.hook_channel import HookRequest
from agentdeck.core.oversight.queue_records import (
    WITHDRAWN,
    Decision,
    Entry,
    append_audit,
    now_iso,
)
from agentdeck.core.screen.detect import Prompt

# a hook that gave up leaves its entry this long for the agent to draw its own prompt
HANDOVER_GRACE = 3.0


class QueueState(ABC):
    def __init__(self, host: SessionHost, audit_path: Path | None,
                 rules: Sequence[ApprovalRule] = (), roles: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.audit_path = audit_path
        self.rules = tuple(rules)
        self.roles = dict(roles or {})
        self.clock = clock
        self._lock = threading.RLock()
        self._pending: dict[int, Entry] = {}
        self._screen: dict[int, Prompt] = {}  # entry id -> its prompt as drawn on screen
        self._hooks: dict[int, HookRequest] = {}  # entry id -> the agent's hook waiting on it
        self._handover: dict[int, float] = {}  # entry id -> when its hook gave up
        self._seen_at: dict[int, float] = {}  # entry id -> when its prompt was first drawn
        # agent -> the prompt answered and the screen as it stood when the answer was sent,
        # until the answer's effect is seen (invariant 7: a prompt is an occurrence): while
        # the agent has not yet taken the answer, the prompt still drawn is not a new one
        self._answered: dict[str, tuple[Prompt, list[str]]] = {}
        # when an answered prompt was last seen gone from its screen (a half-drawn frame hides
        # it for a moment: the same dialog back within SETTLE_WINDOW, the screen not moved on,
        # is still the one answered)
        self._answered_gone: dict[str, float] = {}
        # agent -> when (monotonic) its answered dialog was first seen below new lines, while
        # held before it counts as asked again (ScreenChannel._held)
        self._reask_seen: dict[str, float] = {}
        self._gone: dict[int, float] = {}  # entry id -> since when its prompt is off screen
        # agent -> (request, when) answered through its hook: the dialog the agent may still
        # draw for it (Claude Code starts hook and dialog together) is not a new prompt
        self._hook_done: dict[str, tuple[Prompt, float]] = {}
        self._typed: dict[int, bytes] = {}  # entry id -> keys typed in its pane while shown
        self._resized: dict[str, float] = {}  # agent -> when its terminal last changed size
        self._sweeper: threading.Timer | None = None
        self._checks: set[threading.Timer] = set()  # answers whose taking is still to check
        self._closed = False
        # agent -> (kind, summary, when) of the last prompt answered by keys: its hook may
        # still connect afterwards (Claude Code starts hook and dialog together)
        self._keyed: dict[str, tuple[str, str, float]] = {}
        self._ids = itertools.count(1)
        self.history: deque[Decision] = deque(maxlen=200)
        self._notify: Listeners[[]] = Listeners("the approvals queue")  # tells of every change

    # -- reading ------------------------------------------------------------------------------
    def pending(self) -> list[Entry]:
        """Oldest first."""
        with self._lock:
            self._expire_handovers()
            return sorted(self._pending.values(), key=lambda e: (e.created, e.id))

    def entry_for(self, agent: str) -> Entry | None:
        with self._lock:
            return self._current(agent)

    def via_hook(self, entry_id: int) -> bool:
        """Whether the agent's hook is waiting on this entry (the answer will be exact)."""
        with self._lock:
            return entry_id in self._hooks

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` (on the thread that changed the queue) after every change; returns
        the function that stops it."""
        return self._notify.add(listener)

    def _current(self, agent: str) -> Entry | None:
        return next((e for e in self._pending.values() if e.agent == agent), None)

    def _expire_handovers(self) -> bool:
        """Entries whose hook gave up and whose agent drew no prompt of its own in
        HANDOVER_GRACE leave, withdrawn."""
        now = self.clock()
        stale = [cid for cid, since in self._handover.items() if now - since > HANDOVER_GRACE]
        for cid in stale:
            self._drop(cid, "its hook gave up and no prompt was drawn")
        return bool(stale)

    @abstractmethod
    def _apply_rules(self, entry: Entry) -> None:
        """A new entry: answered at once if a rule says so (answering.ApprovalQueue)."""

    def _later(self, delay: float, fn: Callable[..., None], *args: object) -> None:
        """Run `fn` on a timer thread unless the queue closes first."""
        def run() -> None:
            with self._lock:
                self._checks.discard(timer)
                if self._closed:
                    return
            fn(*args)

        timer = threading.Timer(delay, run)
        timer.daemon = True
        with self._lock:
            if self._closed:
                return
            self._checks.add(timer)
        timer.start()

    # -- bookkeeping --------------------------------------------------------------------------
    def _add(self, agent: str, prompt: Prompt) -> Entry:
        entry = Entry(next(self._ids), agent, prompt, self.clock(), now_iso())
        self._pending[entry.id] = entry
        return entry

    def _forget(self, entry_id: int) -> None:
        self._pending.pop(entry_id, None)
        self._screen.pop(entry_id, None)
        self._hooks.pop(entry_id, None)
        self._handover.pop(entry_id, None)
        self._seen_at.pop(entry_id, None)
        self._gone.pop(entry_id, None)
        self._typed.pop(entry_id, None)

    def _drop(self, entry_id: int, why: str, via: str = "screen",
              extra: dict[str, str] | None = None) -> None:
        """The entry leaves without an answer: withdrawn, audited with why."""
        entry = self._pending.get(entry_id)
        self._forget(entry_id)
        if entry is not None:
            record = Decision(entry, WITHDRAWN, "agent", now_iso(), via, why=why,
                              extra=dict(extra or {}))
            self._record(record)

    def _record(self, record: Decision) -> None:
        """Every decision and every removal: in the history the dashboard shows, and in the
        audit log."""
        self.history.append(record)
        if self.audit_path is not None:
            append_audit(self.audit_path, record)
