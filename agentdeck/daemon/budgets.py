"""Usage and budgets in the session host: every agent's tokens and cost kept current (read from
its CLI's own records, core/agents/usage.py) while it works, shown with its state; an agent that
crosses its budget (`budget: {usd: 5, tokens: 2000000}`) is interrupted the way its CLI takes
an interrupt and asked about in the approvals queue: allow continues it (its budget raised by
the same amount again, and told to go on), deny stops it."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agentdeck.core.agents.delivery import type_into
from agentdeck.core.agents.sessions import SessionHost, SessionSpec, poll_until
from agentdeck.core.agents.usage import Usage, usage_of
from agentdeck.core.errors import AgentdeckError
from agentdeck.core.fleet.options import BudgetSpec
from agentdeck.core.fleet.spec import Fleet
from agentdeck.core.screen.detect import Prompt

CHECK_EVERY = 5.0  # seconds between two looks at a working agent's records
ASK_WITHIN = 5.0  # seconds an interrupted agent has to take down its own prompt
RECENT = 30.0  # seconds after a turn ended that its agent's records are still looked at
FLEET = ""  # the subject of the fleet-wide budget
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
                 busy: Callable[[str], bool], transcript: Callable[[str], str],
                 changed: Callable[[str], None]) -> None:
        """`ask` puts a question in the queue, `busy(name)`: a prompt of that agent waits in
        it; `transcript(name)` is what the agent printed; `changed(name)` is told when an
        agent's usage changed (its state is pushed again)."""
        self.host, self.ask, self.busy = host, ask, busy
        self.transcript, self.changed = transcript, changed
        self.fleet = Fleet(path=None)
        self.specs: dict[str, SessionSpec] = {}
        self.usage: dict[str, Usage] = {}
        self.raised: dict[str, BudgetSpec] = {}  # budgets raised from the queue
        self.over: dict[str, str] = {}  # agent -> why it was stopped (shown by its state)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ended: dict[str, float] = {}  # when each agent's turn last ended
        # crossings found under the lock, asked about after it: (subject, agents, used, budget)
        self._due: list[tuple[str, list[str], Usage, BudgetSpec]] = []
        self.since: dict[str, float] = {}  # when each agent started (its records from then)
        # told when a budget cuts an agent's turn short (False) or tells it to go on (True)
        self.on_turn: Callable[[str, bool], None] = lambda _name, _goes_on: None
        threading.Thread(target=self._watch, name="agentdeck-usage", daemon=True).start()

    def started(self, spec: SessionSpec) -> None:
        with self._lock:
            self.specs[spec.name] = spec
            self.since[spec.name] = time.time()
            self.over.pop(spec.name, None)

    def budget_of(self, name: str) -> BudgetSpec:
        return self.raised.get(name) or (self.fleet.agent(name) or self.fleet.defaults).budget

    def _watch(self) -> None:
        while not self._stop.wait(CHECK_EVERY):
            self.check()

    def check(self, only: str | None = None) -> None:
        """Read the usage of the agents working or whose turn ended lately (a CLI may write
        its records a moment after its screen says it is done); `only`: that one's now."""
        now = time.monotonic()
        if only is not None:
            self._ended[only] = now
        for info in self.host.sessions():
            lately = now - self._ended.get(info.name, -RECENT) < RECENT
            if (only is None and info.state != "working" and not lately) or (
                    only and info.name != only):
                continue
            spec = self.specs.get(info.name)
            if spec is None:
                continue
            # one look at a time: two agents' turns ending together must not each see the
            # fleet's total without the other's usage (the fleet's crossing went unseen)
            with self._lock, contextlib.suppress(OSError, ValueError):
                self._look(info.name, spec)
            # (asked outside the lock: asking waits for the interrupted agents, and a spawn
            # meanwhile must not)
            while True:
                with self._lock:
                    if not self._due:
                        break
                    due = self._due.pop(0)
                self._over(*due)

    def _look(self, name: str, spec: SessionSpec) -> None:
        env = dict(spec.env)
        home = _sandbox_home(spec)
        if home is not None:
            env["HOME"] = home
        if spec.channel == "acp":  # its usage came by the protocol (usage_update, turn ends)
            info = self.host.info(name)
            now = Usage(info.tokens_in, info.tokens_out, info.cost)
        else:
            text = self.transcript(name) if spec.agent == "aider" else ""
            # (a margin: a file system's times may be coarser than the clock's)
            now = usage_of(spec.agent, spec.cwd, env, text, self.since.get(name, 0.0) - 2.0)
        if now == self.usage.get(name):
            return
        self.usage[name] = now
        self.changed(name)
        if name not in self.over and _exceeds(now, self.budget_of(name)):
            self._cross(name, [name], now, self.budget_of(name))
        fleet_budget = self.raised.get(FLEET) or self.fleet.budget
        total = self.total()
        if FLEET not in self.over and _exceeds(total, fleet_budget):
            running = [i.name for i in self.host.sessions() if i.process == "running"]
            if running:
                self._cross(FLEET, running, total, fleet_budget)

    def total(self) -> Usage:
        """The whole fleet's usage (its cost: of the agents that report one)."""
        used = list(self.usage.values())
        costs = [u.cost for u in used if u.cost is not None]
        return Usage(sum(u.tokens_in for u in used), sum(u.tokens_out for u in used),
                     sum(costs) if costs else None)

    def _cross(self, subject: str, names: list[str], now: Usage, budget: BudgetSpec) -> None:
        """`subject` (an agent, or FLEET) crossed `budget`: marked now (under the lock: asked
        once), asked about after it."""
        spent = f"${now.cost:.2f} of ${budget.usd:.2f}" if (
            budget.usd is not None and now.cost is not None and now.cost > budget.usd) else (
            f"{now.tokens} of {budget.tokens} tokens")
        self.over[subject] = f"over budget ({spent})"
        self._due.append((subject, names, now, budget))

    def _over(self, subject: str, names: list[str], now: Usage, budget: BudgetSpec) -> None:
        """Interrupt `names`, then ask about `subject`'s crossing."""
        for name in names:
            spec = self.specs.get(name)
            self.on_turn(name, False)
            with contextlib.suppress(AgentdeckError, KeyError, OSError):
                # (an ACP agent takes Esc as session/cancel: acp/session.py)
                self.host.write(name, INTERRUPT.get(spec.agent if spec else "", b"\x1b"))
        # one question per agent in the queue: the interrupt must have cleared any prompt of
        # the agent the question is filed under, else it is asked at the next look
        def freed(name: str) -> bool:
            return poll_until(lambda: not self.busy(name), ASK_WITHIN)

        free = [n for n in names if freed(n)]
        if not free:
            self.over.pop(subject, None)
            return
        raised = BudgetSpec(None if budget.usd is None else budget.usd * 2,
                            None if budget.tokens is None else budget.tokens * 2)
        more = f"${raised.usd:.2f}" if raised.usd is not None else f"{raised.tokens} tokens"

        def decide(decision: str) -> None:
            if decision in ("allow", "always"):
                self.raised[subject] = raised
                self.over.pop(subject, None)
                for name in names:
                    self.changed(name)
                    self.on_turn(name, True)
                    with contextlib.suppress(AgentdeckError, KeyError, OSError):
                        type_into(self.host, name, GO_ON, self.fleet)
            else:
                for name in names:
                    with contextlib.suppress(AgentdeckError, KeyError, OSError):
                        self.host.stop(name)

        who, them = (("the fleet", "them") if subject == FLEET else (subject, "it"))
        summary = (f"{who} is {self.over[subject]}: allow continues {them} with {more}, deny "
                   f"stops {them}")
        self.ask(BudgetQuestion(free[0], Prompt("other", summary, "", "", agent="agentdeck"),
                                decide))
        for name in names:
            self.changed(name)

    def close(self) -> None:
        self._stop.set()


def _exceeds(used: Usage, budget: BudgetSpec) -> bool:
    return (budget.usd is not None and used.cost is not None and used.cost > budget.usd) or (
        budget.tokens is not None and used.tokens > budget.tokens)


def _sandbox_home(spec: SessionSpec) -> str | None:
    """A sandboxed agent's home copy (core/agents/sandbox.py binds it over its HOME)."""
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

