"""The ACP terminal capability: a command the agent asks its client to run (`terminal/create`)
runs in a PTY of agentdeck's, in the agent's worktree, as a process tree agentdeck ends when
the agent kills or releases it (or stops). Its output is kept (bounded, the start dropped) for
`terminal/output` and shown in the tool card that embeds it."""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Mapping, Sequence

import pexpect

from agentdeck.core.agents.sessions.pty_session import alive, read_some
from agentdeck.core.proctree import MARKER, end_tree

DEFAULT_LIMIT = 1 << 20


class Terminal:
    def __init__(self, argv: Sequence[str], cwd: str, env: Mapping[str, str],
                 limit: int | None) -> None:
        self.id = "term-" + uuid.uuid4().hex[:12]
        self.limit = limit or DEFAULT_LIMIT
        self.marker = uuid.uuid4().hex
        self._out = bytearray()
        self.truncated = False
        self.exit_code: int | None = None
        self.signal: str | None = None
        self.ended = threading.Event()
        self.child = pexpect.spawn(argv[0], list(argv[1:]), cwd=cwd,
                                   env={**env, MARKER: self.marker}, echo=False,
                                   encoding=None, dimensions=(30, 120))
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        name=f"agentdeck-acp-{self.id}")
        self._reader.start()

    def _read(self) -> None:
        while data := read_some(self.child.child_fd):
            self._out += data
            if len(self._out) > self.limit:
                del self._out[:len(self._out) - self.limit]
                self.truncated = True
        with contextlib.suppress(Exception):
            self.child.close(force=True)
        self.exit_code = self.child.exitstatus
        if self.child.signalstatus is not None:
            self.signal = str(self.child.signalstatus)
        self.ended.set()

    @property
    def output(self) -> str:
        return bytes(self._out).decode("utf-8", "replace").replace("\r\n", "\n")

    def kill(self, timeout: float = 2.0) -> None:
        if alive(self.child) and self.child.pid is not None:
            end_tree(self.child.pid, timeout, self.marker)
        self.ended.wait(timeout)


class Terminals:
    """One agent's terminals, by id."""

    def __init__(self) -> None:
        self._terminals: dict[str, Terminal] = {}

    def create(self, argv: Sequence[str], cwd: str, env: Mapping[str, str],
               limit: int | None) -> Terminal:
        terminal = Terminal(argv, cwd, env, limit)
        self._terminals[terminal.id] = terminal
        return terminal

    def get(self, terminal_id: str) -> Terminal:
        terminal = self._terminals.get(terminal_id)
        if terminal is None:
            raise KeyError(f"no terminal {terminal_id}")
        return terminal

    def release(self, terminal_id: str) -> None:
        terminal = self._terminals.pop(terminal_id, None)
        if terminal is not None:
            terminal.kill()

    def close(self) -> None:
        for terminal_id in list(self._terminals):
            self.release(terminal_id)


def environment(base: Mapping[str, str], extra: Sequence[tuple[str, str]]) -> dict[str, str]:
    env = dict(base)
    env.update(dict(extra))
    env.setdefault("PATH", os.environ.get("PATH", "/usr/bin:/bin"))
    return env
