"""The approvals queue: every pending permission prompt of every agent, answered once.

Entries come from the session host's detections. A prompt is identified by its agent and its
screen signature, so a prompt that stays on screen while the screen around it changes is still
one entry, and a prompt already answered is never queued again while it is still being erased.
An answer is sent only after re-reading that agent's screen: if the prompt there is not the one
the user saw, the answer is refused (`StaleAnswer`) instead of landing in whatever is on screen
now. Every decision, by key or by rule, is appended to an audit log (JSONL).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from agentdeck.core.config import ApprovalRule
from agentdeck.core.detect import Prompt
from agentdeck.core.errors import OperationError
from agentdeck.core.sessions import Event, SessionHost

ALLOW, ALWAYS, DENY = "allow", "always", "deny"


class StaleAnswer(OperationError):
    """The prompt answered is no longer on the agent's screen."""


@dataclass(frozen=True)
class Entry:
    id: int
    agent: str
    prompt: Prompt
    created: float  # time.monotonic()
    created_at: str  # wall clock, for the log

    @property
    def kind(self) -> str:
        return self.prompt.kind

    @property
    def summary(self) -> str:
        return self.prompt.summary


@dataclass(frozen=True)
class Decision:
    entry: Entry
    decision: str
    by: str  # "key" | "rule: <file:line>" | "pane" (answered in the agent's own pane)
    at: str


class ApprovalQueue:
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
        self._answered: dict[str, str] = {}  # agent -> signature answered, until it leaves
        self._ids = itertools.count(1)
        self.history: deque[Decision] = deque(maxlen=200)
        self._listeners: list[Callable[[], None]] = []
        self._unsubscribe = host.subscribe(self._on_event)
        for info in host.sessions():
            self._update(info.name, info.detection.prompt)

    # -- reading ------------------------------------------------------------------------------
    def pending(self) -> list[Entry]:
        """Oldest first."""
        with self._lock:
            return sorted(self._pending.values(), key=lambda e: (e.created, e.id))

    def entry_for(self, agent: str) -> Entry | None:
        with self._lock:
            return next((e for e in self._pending.values() if e.agent == agent), None)

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` (on the thread that changed the queue) after every change; returns
        the function that stops it."""
        self._listeners.append(listener)

        def stop() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return stop

    def close(self) -> None:
        self._unsubscribe()

    # -- updates from the host ----------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.kind == "state":
            prompt = event.info.detection.prompt if event.info.process == "running" else None
            self._update(event.name, prompt)

    def _update(self, agent: str, prompt: Prompt | None) -> None:
        auto: Entry | None = None
        with self._lock:
            changed = False
            answered = self._answered.get(agent)
            if prompt is None or prompt.signature != answered:
                self._answered.pop(agent, None)  # the answered prompt has left the screen
                answered = None
            current = next((e for e in self._pending.values() if e.agent == agent), None)
            if current and (prompt is None or prompt.signature != current.prompt.signature):
                # answered in the agent's own pane, or the agent moved on
                del self._pending[current.id]
                how = "answered in pane" if prompt is None else "replaced"
                self.history.append(Decision(current, how, "pane", _now()))
                current, changed = None, True
            if prompt is not None and answered is None and current is None:
                auto = Entry(next(self._ids), agent, prompt, self.clock(), _now())
                self._pending[auto.id] = auto
                changed = True
        if changed:
            self._notify()
        if auto is not None:
            self._apply_rules(auto)

    # -- answering ----------------------------------------------------------------------------
    def answer(self, entry_id: int, decision: str, by: str = "key") -> Decision:
        with self._lock:
            entry = self._pending.get(entry_id)
            if entry is None:
                raise StaleAnswer("that prompt was already answered or has gone")
            keys = {ALLOW: entry.prompt.allow, ALWAYS: entry.prompt.allow_always,
                    DENY: entry.prompt.deny}[decision]
            if keys is None:
                raise OperationError(f"{entry.agent} offers no 'allow always' for this prompt; "
                                     "use y (allow once) or n (deny)")
            info = self.host.info(entry.agent)
            now_on_screen = self.host.redetect(entry.agent).prompt
            if info.process != "running" or now_on_screen is None or (
                    now_on_screen.signature != entry.prompt.signature):
                del self._pending[entry_id]
                self._notify()
                raise StaleAnswer(f"{entry.agent}: that prompt is no longer on its screen; "
                                  "nothing was sent")
            self.host.write(entry.agent, keys.encode())
            del self._pending[entry_id]
            self._answered[entry.agent] = entry.prompt.signature
            record = Decision(entry, decision, by, _now())
            self.history.append(record)
            self._audit(record)
        self._notify()
        return record

    def _apply_rules(self, entry: Entry) -> None:
        role = self.roles.get(entry.agent, "worker")
        for rule in self.rules:
            if rule.applies(entry.agent, role, entry.kind, entry.summary):
                decision = ALLOW if rule.decision == "allow" else DENY
                with contextlib.suppress(OperationError):  # gone already: nothing to decide
                    self.answer(entry.id, decision, by=f"rule {rule.where}")
                return

    def _audit(self, record: Decision) -> None:
        if self.audit_path is None:
            return
        line = json.dumps({"time": record.at, "agent": record.entry.agent,
                           "kind": record.entry.kind, "summary": record.entry.summary,
                           "decision": record.decision, "by": record.by}, ensure_ascii=False)
        self.audit_path.parent.mkdir(parents=True, exist_ok=True)
        with self.audit_path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
