"""The SessionHost interface: what the dashboard needs from whoever owns the agents' PTYs.

The in-process host (`local.LocalHost`) implements it today; the daemon client implements the
same interface later, so the UI never knows which one it talks to. Events are delivered on the
host's own threads: a UI hands them to its event loop (Textual: `call_from_thread`).
"""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agentdeck.core.fleet.views import state_text
from agentdeck.core.screen.detect import Detection
from agentdeck.core.screen.terminal import Emulator, make_emulator
from agentdeck.core.screen.terminal.replay import replay

STARTING, RUNNING, EXITED, FAILED = "starting", "running", "exited", "failed"
class AlreadyRunning(ValueError):
    """A start of a session whose name runs (or is starting) already: refused, nothing done."""


STOPPED = "stopped"  # a state, not a process status: the user stopped it (its process exited)
STOP_GRACE = 5.0  # seconds a stopped agent's processes get to end before they are killed


@dataclass(frozen=True)
class SessionSpec:
    name: str
    argv: Sequence[str]
    cwd: str
    env: Mapping[str, str]
    agent: str = "shell"  # which detector reads its screen
    cols: int = 100
    rows: int = 30
    scrollback: int = 10_000
    error: str | None = None  # set when the agent cannot be started at all: why
    # a sandboxed agent's own view of the refs (core/agents/refs.py: name, branch, common_dir,
    # root), which the session host keeps in step with the real ones while it runs
    shadow: dict[str, str] | None = None
    # "pty": its own TUI in a terminal; "acp": the Agent Client Protocol over its stdio
    # (core/agents/acp), its conversation drawn by agentdeck
    channel: str = "pty"
    prompt: str | None = None  # an ACP agent's first prompt (its brief and task)
    resume: bool = False  # an ACP agent carries on its last session (session/load) if it can
    state_file: str | None = None  # where an ACP agent's session id is kept (for `resume`)
    forbid: tuple[str, ...] = ()  # paths of its worktree an ACP agent's writes are refused in


@dataclass
class SessionInfo:
    name: str
    agent: str
    process: str = STARTING  # starting | running | exited | failed
    pid: int | None = None
    exit_code: int | None = None
    error: str | None = None  # why it failed to start
    detection: Detection = field(default_factory=Detection)
    # what the sidebar shows: working / waiting / idle / rate-limited / exited / stopped /
    # failed
    state: str = "working"
    last_output: float = 0.0
    last_event: str = ""  # the last state event its hooks sent (Stop, UserPromptSubmit, …)
    # it reads whole lines (its terminal in canonical mode, as a plain script's is): the kernel
    # hands it a line at Enter, so an Enter typed after a message is always taken
    line_input: bool = False
    # what it has used, as its CLI records it (daemon/budgets.py): tokens, cost ($, None: not
    # reported), and the sidebar's words for it (with "over budget (…)" once it crossed one)
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float | None = None
    usage: str = ""
    channel: str = "pty"  # "acp": driven through the Agent Client Protocol (its spec's)


def state_label(info: SessionInfo) -> str:
    return state_text(info.state, info.exit_code, info.detection.reset, info.detection.detail)


def fleet_spend(infos: Iterable[SessionInfo]) -> str:
    """What the whole fleet has used: "12.3k tok $1.24" (the cost of those that report one)."""
    infos = list(infos)
    tokens = sum(i.tokens_in + i.tokens_out for i in infos)
    costs = [i.cost for i in infos if i.cost is not None]
    if not tokens and not costs:
        return ""
    text = f"{tokens / 1000:.1f}k tok" if tokens >= 1000 else f"{tokens} tok"
    return text + (f" ${sum(costs):.2f}" if costs else "")


@dataclass(frozen=True)
class Event:
    name: str
    # "output" (data holds the bytes) | "state" (info changed, exit included) | "resize" (data
    # holds b"<cols>x<rows>") | "archived" (the scrollback left the terminal's grid for its
    # archive: see Emulator.archive_scrollback) | "redrawn" (the screen changed, the prompt
    # read from it did not)
    kind: str
    info: SessionInfo
    data: bytes = b""


Listener = Callable[[Event], None]


def poll_until(condition: Callable[[], object], timeout: float, interval: float = 0.01,
               clock: Callable[[], float] = time.monotonic) -> bool:
    """Block until `condition()` holds (True) or `timeout` seconds pass (False), looking every
    `interval` seconds: the one way agentdeck waits on a screen or a session."""
    deadline = clock() + timeout
    while True:
        if condition():
            return True
        if clock() > deadline:
            return False
        time.sleep(interval)


def home_size(area: tuple[int, int], floor: tuple[int, int]) -> tuple[int, int]:
    """An agent's terminal size: the content area of a pane zoomed in the dashboard (its
    panes' `area` less the pane's border), never below `floor` (`dashboard.agent_size`)."""
    return max(area[0] - 2, floor[0]), max(area[1] - 2, floor[1])


SYNC_BEGIN, SYNC_END = b"\x1b[?2026h", b"\x1b[?2026l"  # synchronized output (DEC mode 2026)
SYNC_TIMEOUT = 1.0  # a synchronized update left open this long is shown anyway (as terminals do)


class TerminalView:
    """A session's screen as a pane draws it: its emulator behind a lock, and a version bumped
    on every completed change so a pane redraws — and the detectors look — only when it moved.
    A program that wraps a frame in synchronized output (Claude Code and other Ink or ratatui
    programs) is seen only between frames: the version stays put while one is open, so no half
    frame is ever drawn or read. `with view as emulator:` holds the lock while reading. The
    in-process host's sessions and the daemon client's mirrors are both one of these."""

    def __init__(self, emulator: Emulator, sync_timeout: float = SYNC_TIMEOUT) -> None:
        self.emulator = emulator
        self.lock = threading.RLock()
        self._version = 0
        self.frame_open_since: float | None = None
        self.sync_timeout = sync_timeout

    @property
    def version(self) -> int:
        return self._version

    def bump(self) -> None:
        self._version += 1

    def fed(self, data: bytes) -> None:
        """`data` has gone into the emulator (call under the lock): the screen moved, unless
        a synchronized update is still open."""
        # (a byte looked for first: memchr is ten times faster than two searches of a flood)
        begin, end = (data.rfind(SYNC_BEGIN), data.rfind(SYNC_END)) if b"?" in data else (-1, -1)
        if begin > end:
            if self.frame_open_since is None:
                self.frame_open_since = time.monotonic()
        elif end >= 0:
            self.frame_open_since = None
        if self.frame_open_since is None:
            self.bump()

    @property
    def frame_open(self) -> bool:
        return self.frame_open_since is not None

    def release_overdue_frame(self) -> bool:
        """A frame open past the timeout is shown as it stands (a program that died mid-frame
        must not freeze its pane). Returns whether it did."""
        since = self.frame_open_since
        if since is None or time.monotonic() - since < self.sync_timeout:
            return False
        self.frame_open_since = None
        self.bump()
        return True

    def __enter__(self) -> Emulator:
        self.lock.acquire()
        return self.emulator

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def still_copy(cols: int, rows: int, scrollback: int, dump: bytes) -> TerminalView:
    """A replay (terminal.replay) as a view that stays as it was, its whole scrollback in the
    grid where the viewport scrolls through it."""
    copy = TerminalView(make_emulator(cols, rows, scrollback, archive=False))
    copy.emulator.feed(dump)
    copy.emulator.take_dirty()
    return copy


class SessionHost(abc.ABC):
    @abc.abstractmethod
    def spawn(self, spec: SessionSpec) -> SessionInfo: ...

    @abc.abstractmethod
    def write(self, name: str, data: bytes) -> None: ...

    @abc.abstractmethod
    def resize(self, name: str, cols: int, rows: int) -> None: ...

    def prefetch_screens(self) -> None:  # noqa: B027 (optional: most hosts have none)
        """Start fetching, in the background, what `terminal` shows of each session before its
        screen can be read here (a session host's: daemon/pictures.py). Nothing to fetch for
        sessions in this process."""

    def mirror_screens(self) -> None:  # noqa: B027 (optional: most hosts have none)
        """Read every session's own screen from now on, in place of what `prefetch_screens`
        fetched (a session host's: each mirror loads the emulator library and replays its
        screen, work that would hold back the frame drawing the prefetched ones)."""

    def set_home_size(self, cols: int, rows: int) -> None:
        """Every running agent's terminal becomes (cols, rows): the dashboard's home size."""
        for info in self.sessions():
            if info.process == RUNNING:
                self.resize(info.name, cols, rows)

    def route_permissions(self, router: Any) -> None:  # noqa: B027 (optional)
        """Where permission requests that come by a structured channel (ACP agents run here)
        go: the approvals queue (`acp.permission.Router`). A host that runs none here (a
        session host's client) takes no router."""

    def conversation(self, name: str) -> dict[str, Any] | None:
        """An ACP agent's conversation (acp.conversation.Conversation.to_wire), None for an
        agent on a terminal."""
        return None

    @abc.abstractmethod
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` for every event; returns the function that unsubscribes."""

    def on_agents(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` when the agents this host's repository has made changed (made or
        removed by any client: the CLI, a dashboard, another machine); returns the function
        that stops it. A session host daemon tells its clients; the in-process host knows no
        registry (its dashboard watches the file itself) and never calls it."""
        return lambda: None

    @abc.abstractmethod
    def snapshot(self, name: str) -> list[str]:
        """The live screen's text, one string per row."""

    @abc.abstractmethod
    def redetect(self, name: str) -> Detection:
        """Read the session's screen now (not the last periodic detection)."""

    @abc.abstractmethod
    def terminal(self, name: str) -> TerminalView: ...

    def scrollback(self, name: str) -> TerminalView:
        """The screen and its whole scrollback as they are now, to scroll back through (may
        block): a still copy, since the live grid keeps only its last lines (the rest is in
        its archive) and goes on moving."""
        with self.terminal(name) as emulator:
            dump = replay(emulator)
            size = (emulator.cols, emulator.rows, emulator.scrollback_limit)
        return still_copy(*size, dump)

    @abc.abstractmethod
    def info(self, name: str) -> SessionInfo: ...

    @abc.abstractmethod
    def sessions(self) -> list[SessionInfo]: ...

    @abc.abstractmethod
    def stop(self, name: str, timeout: float = 3.0) -> None: ...

    @abc.abstractmethod
    def forget(self, name: str) -> None:
        """Stop a session and drop it, transcript and all (its agent was removed)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop every session and the host's threads (a daemon's client: detach)."""

    def wait_for(self, name: str, predicate: Callable[[SessionInfo], bool],
                 timeout: float = 10.0) -> SessionInfo:
        """Block until `predicate(info)` holds (for tests and scripts)."""
        if poll_until(lambda: predicate(self.info(name)), timeout):
            return self.info(name)
        info = self.info(name)
        raise TimeoutError(f"{name}: condition not met in {timeout}s (state {info.state}, "
                           f"screen: {self.snapshot(name)[-5:]!r})")

