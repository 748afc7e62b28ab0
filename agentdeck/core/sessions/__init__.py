"""Agent sessions: a PTY per agent behind the SessionHost interface."""

from agentdeck.core.sessions.host import (
    EXITED,
    FAILED,
    RUNNING,
    STARTING,
    STOP_GRACE,
    STOPPED,
    Event,
    SessionHost,
    SessionInfo,
    SessionSpec,
    TerminalView,
    home_size,
    poll_until,
    state_label,
)
from agentdeck.core.sessions.local import LocalHost

__all__ = ["EXITED", "FAILED", "RUNNING", "STARTING", "STOPPED", "STOP_GRACE", "Event",
           "LocalHost", "SessionHost", "SessionInfo", "SessionSpec", "TerminalView", "home_size",
           "poll_until", "state_label"]
