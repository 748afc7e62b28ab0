"""Agent sessions: a PTY per agent behind the SessionHost interface."""

from typing import TYPE_CHECKING

from agentdeck.core.agents.sessions.host import (
    EXITED,
    FAILED,
    RUNNING,
    STARTING,
    STOP_GRACE,
    STOPPED,
    AlreadyRunning,
    Event,
    SessionHost,
    SessionInfo,
    SessionSpec,
    TerminalView,
    fleet_spend,
    home_size,
    poll_until,
    state_label,
)

if TYPE_CHECKING:
    from agentdeck.core.agents.sessions.local import LocalHost

__all__ = [
    "EXITED",
    "FAILED",
    "RUNNING",
    "STARTING",
    "STOPPED",
    "STOP_GRACE",
    "AlreadyRunning",
    "Event",
    "LocalHost",
    "SessionHost",
    "SessionInfo",
    "SessionSpec",
    "TerminalView",
    "fleet_spend",
    "home_size",
    "poll_until",
    "state_label",
]


def __getattr__(name: str) -> object:
    # The PTYs (pexpect, psutil, the detectors) load only where agents run here: a dashboard
    # attached to the session host daemon, and the quick commands, never need them.
    if name == "LocalHost":
        from agentdeck.core.agents.sessions.local import LocalHost

        return LocalHost
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
