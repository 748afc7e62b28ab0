"""Terminal output for the headless CLI: live setup progress and the fleet table."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from agentdeck.core.fleet.views import AgentView, relative

if TYPE_CHECKING:  # (types only: `ls` never loads the setup runner)
    from agentdeck.core.engine.setup import SetupEvent, SetupResult

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
REDRAW_EVERY = 0.1


@dataclass
class _Row:
    status: str = "waiting"
    last: str = ""
    started: float = field(default_factory=time.monotonic)
    result: SetupResult | None = None


class SetupProgress:
    """One live line per worktree on a terminal; prefixed log lines anywhere else."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty()
        self.rows: dict[str, _Row] = {}
        self.drawn = 0
        self.last_draw = 0.0
        self.tick = 0

    def __call__(self, event: SetupEvent) -> None:
        row = self.rows.setdefault(event.name, _Row())
        if event.kind == "start":
            row.status, row.started = "running", time.monotonic()
            if not self.live:
                self._print(f"[{event.name}] setup started")
        elif event.kind == "command":
            row.last = f"$ {event.text}"
            if not self.live:
                self._print(f"[{event.name}] $ {event.text}")
        elif event.kind == "output":
            row.last = event.text
            if not self.live:
                self._print(f"[{event.name}] {event.text}")
        elif event.kind == "done" and event.result is not None:
            row.result = event.result
            row.status = "done" if event.result.ok else "failed"
            if not self.live:
                self._print(f"[{event.name}] {_summary(event.result)}")
        if self.live and (event.kind != "output" or
                          time.monotonic() - self.last_draw >= REDRAW_EVERY):
            self._draw()

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _draw(self) -> None:
        self.tick += 1
        width = 100
        lines = []
        pad = max(len(n) for n in self.rows)
        for name, row in self.rows.items():
            if row.result is not None:
                mark = "✓" if row.result.ok else "✗"
                text = _summary(row.result)
            else:
                mark = SPINNER[self.tick % len(SPINNER)]
                text = f"{time.monotonic() - row.started:4.0f}s  {row.last}"
            lines.append(f"  {mark} {name.ljust(pad)}  {text}"[:width])
        out = ("\x1b[F" * self.drawn) + "".join(f"\x1b[2K{line}\n" for line in lines)
        self.stream.write(out)
        self.stream.flush()
        self.drawn = len(lines)
        self.last_draw = time.monotonic()


def _summary(result: SetupResult) -> str:
    if result.ok:
        return f"setup done in {result.seconds:.1f}s"
    return f"setup failed after {result.seconds:.1f}s: `{result.failed_command}` exited " \
           f"{result.returncode}"


def failure_report(results: Sequence[SetupResult]) -> list[str]:
    lines = []
    for res in results:
        if res.ok:
            continue
        lines.append(f"{res.name}: setup failed — `{res.failed_command}` exited {res.returncode}; "
                     "last lines:")
        lines += [f"    {line}" for line in res.tail]
    return lines


def fleet_table(views: Sequence[AgentView]) -> str:
    header = ("NAME", "AGENT", "BRANCH", "WORKTREE", "PORT", "DATABASE", "STATE")
    rows = [header]
    for v in views:
        ports = ",".join(str(p) for p in sorted(set(v.ports.values()))) or "-"
        state = v.state + (" (setup failed)" if v.setup == "failed" else "")
        role = f"{v.agent}" + (" (lead)" if v.role == "lead" else "")
        rows.append((v.name, role, v.branch, relative(v.worktree), ports, v.database, state))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)
