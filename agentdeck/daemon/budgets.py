"""Usage and budgets in the session host: every agent's tokens and cost kept current (read from
its CLI's own records, core/usage.py) while it works, shown with its state; an agent that
crosses its budget (`budget: {usd: 5, tokens: 2000000}`) is interrupted the way its CLI takes
an interrupt and asked about in the approvals queue: allow continues it (its budget raised by
the same amount again, and told to go on), deny stops it."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agentdeck.core.config import BudgetSpec, Fleet
from agentdeck.core.detect import Prompt
from agentdeck.core.errors import AgentdeckError
from agentdeck.core.messages import type_into
from agentdeck.core.sessions import SessionHost, SessionSpec
from agentdeck.core.usage import Usage, usage_of

CHECK_EVERY = 5.0  # seconds between two looks at a working agent's records
INTERRUPT = {"aider": b"\x03"}  # Ctrl-C; the others stop their turn on Esc
GO_ON = "continue"


@dataclass
class BudgetQuestion:
    """A queue entry that no screen drew: the session host asks it (duck-types the hook
    requests the queue takes); answering it runs `decide`."""

    agent: str
    prompt: Prompt
    decide: Callable[[str], None]
    cli: str = "agentdeck"
    offers_always: bool = False
    via: str = "budget"  # what the audit log says carried the answer
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def alive(self) -> bool:
        return not self._done.is_set()

    def reply(self, decision: str | None) -> bool:
        if self._done.is_set():
            return False
        self._done.set()
        if decision is not None:
            threading.Thread(target=self.decide, args=(decision,), daemon=True).start()
        return True


class Budgets:
    def __init__(self, host: SessionHost, ask: Callable[[BudgetQuestion], None],
                 transcript: Callable[[str], str], changed: Callable[[str], None]) -> None:
        """`ask` puts a question in the queue; `transcript(name)` is what the agent printed;
        `changed(name)` is told when an agent's usage changed (its state is pushed again)."""
        self.host, self.ask, self.transcript, self.changed = host, ask, transcript, changed
        self.fleet = Fleet(path=None)
        self.specs: dict[str, SessionSpec] = {}
        self.usage: dict[str, Usage] = {}
        self.raised: dict[str, BudgetSpec] = {}  # budgets raised from the queue
        self.over: dict[str, str] = {}  # agent -> why it was stopped (shown by its state)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        threading.Thread(target=self._watch, name="agentdeck-usage", daemon=True).start()

    def started(self, spec: SessionSpec) -> None:
        with self._lock:
            self.specs[spec.name] = spec
            self.over.pop(spec.name, None)

    def budget_of(self, name: str) -> BudgetSpec:
        return self.raised.get(name) or (self.fleet.agent(name) or self.fleet.defaults).budget

    def _watch(self) -> None:
        while not self._stop.wait(CHECK_EVERY):
            self.check()

    def check(self, only: str | None = None) -> None:
        """Read the working agents' usage (or `only` that one's, whatever its state)."""
        for info in self.host.sessions():
            if (only is None and info.state != "working") or (only and info.name != only):
                continue
            spec = self.specs.get(info.name)
            if spec is None:
                continue
            with contextlib.suppress(OSError, ValueError):
                self._look(info.name, spec)

    def _look(self, name: str, spec: SessionSpec) -> None:
        env = dict(spec.env)
        home = _sandbox_home(spec)
        if home is not None:
            env["HOME"] = home
        text = self.transcript(name) if spec.agent == "aider" else ""
        now = usage_of(spec.agent, spec.cwd, env, text)
        if now == self.usage.get(name):
            return
        self.usage[name] = now
        self.changed(name)
        budget = self.budget_of(name)
        over = (budget.usd is not None and now.cost is not None and now.cost > budget.usd) or (
            budget.tokens is not None and now.tokens > budget.tokens)
        if over and name not in self.over:
            self._over(name, spec, now, budget)

    def _over(self, name: str, spec: SessionSpec, now: Usage, budget: BudgetSpec) -> None:
        spent = f"${now.cost:.2f} of ${budget.usd:.2f}" if (
            budget.usd is not None and now.cost is not None and now.cost > budget.usd) else (
            f"{now.tokens} of {budget.tokens} tokens")
        self.over[name] = f"over budget ({spent})"
        with contextlib.suppress(AgentdeckError, KeyError, OSError):
            self.host.write(name, INTERRUPT.get(spec.agent, b"\x1b"))
        raised = BudgetSpec(None if budget.usd is None else budget.usd * 2,
                            None if budget.tokens is None else budget.tokens * 2)
        more = (f"${raised.usd:.2f}" if raised.usd is not None else f"{raised.tokens} tokens")

        def decide(decision: str) -> None:
            if decision in ("allow", "always"):
                self.raised[name] = raised
                self.over.pop(name, None)
                self.changed(name)
                with contextlib.suppress(AgentdeckError, KeyError, OSError):
                    type_into(self.host, name, GO_ON)
            else:
                with contextlib.suppress(AgentdeckError, KeyError, OSError):
                    self.host.stop(name)

        summary = f"{name} is {self.over[name]}: allow continues it with {more}, deny stops it"
        self.ask(BudgetQuestion(name, Prompt("other", summary, "", "", agent="agentdeck"),
                                decide))
        self.changed(name)

    def close(self) -> None:
        self._stop.set()


def _sandbox_home(spec: SessionSpec) -> str | None:
    """A sandboxed agent's home copy (core/sandbox.py binds it over its HOME)."""
    argv = list(spec.argv)
    if not argv or Path(argv[0]).name != "bwrap":
        return None
    home = spec.env.get("HOME")
    for i in range(len(argv) - 2):
        if argv[i] == "--bind" and argv[i + 2] == home:
            return argv[i + 1]
    return None


def labelled(usage: Usage | None, over: str | None) -> str:
    """The sidebar's detail for it."""
    text = usage.label() if usage else ""
    return f"{text} · {over}" if over and text else (over or text)

