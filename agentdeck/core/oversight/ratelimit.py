"""Rate limits: when an agent says its limit resets, and (opt-in) carrying on when it does.

Agents print the reset in their own words — "resets 3pm", "resets at 15:30", "try again in 5
minutes", "retry after 30s" — which the detectors keep as the state's `reset`. With
`rate_limits: {resume: true}` in the fleet, an agent that is still rate-limited when that time
(plus a margin) comes is sent the resume message ("continue" unless the fleet says otherwise).
The clock and the timer are injected, so this is tested without waiting.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from agentdeck.core.agents import delivery as messages
from agentdeck.core.agents.sessions import Event, SessionHost
from agentdeck.core.errors import OperationError
from agentdeck.core.fleet.spec import Fleet

_IN_RE = re.compile(r"\b(?:in|after)\s+(\d+)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?)\b",
                    re.IGNORECASE)
_AT_RE = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b", re.IGNORECASE)
MARGIN = timedelta(seconds=30)


def reset_at(text: str, now: datetime) -> datetime | None:
    """The moment a reset text means, from `now` (local time); None when it names none."""
    m = _IN_RE.search(text)
    if m:
        amount, unit = int(m.group(1)), m.group(2).lower()
        seconds = amount * (3600 if unit.startswith("h") else 60 if unit.startswith("m")
                            else 1)
        return now + timedelta(seconds=seconds)
    for m in _AT_RE.finditer(text):
        hour, minute, half = int(m.group(1)), int(m.group(2) or 0), (m.group(3) or "").lower()
        if not half and m.group(2) is None:
            continue  # a bare number is not a time of day
        if half == "pm" and hour < 12:
            hour += 12
        elif half == "am" and hour == 12:
            hour = 0
        if hour > 23 or minute > 59:
            continue
        at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return at if at > now else at + timedelta(days=1)
    return None


Timer = Callable[[float, Callable[[], None]], object]


def _thread_timer(delay: float, fn: Callable[[], None]) -> object:
    timer = threading.Timer(delay, fn)
    timer.daemon = True
    timer.start()
    return timer


class Resumer:
    """Sends the resume message to agents whose rate limit has passed."""

    def __init__(self, host: SessionHost, message: str = "continue",
                 now: Callable[[], datetime] = datetime.now, timer: Timer = _thread_timer,
                 fleet: Fleet | None = None) -> None:
        self.host, self.message, self.now, self.timer = host, message, now, timer
        self.fleet = fleet  # (its commands say how a message is typed into each kind)
        self.scheduled: dict[str, datetime] = {}
        self._unsubscribe = host.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        info = event.info
        if event.kind != "state" or info.state != "rate-limited" or not info.detection.reset:
            return
        at = reset_at(info.detection.reset, self.now())
        if at is None or self.scheduled.get(event.name) == at:
            return
        self.scheduled[event.name] = at
        delay = max((at + MARGIN - self.now()).total_seconds(), 0.0)
        self.timer(delay, lambda: self._resume(event.name, at))

    def _resume(self, name: str, at: datetime) -> None:
        if self.scheduled.get(name) != at:
            return  # rescheduled since
        del self.scheduled[name]
        with contextlib.suppress(KeyError, OSError, ValueError, OperationError):
            info = self.host.info(name)
            if info.process != "running" or info.state != "rate-limited":
                return  # it carried on by itself, or someone answered it
            messages.type_into(self.host, name, self.message, self.fleet)

    def close(self) -> None:
        self._unsubscribe()
