"""Checks in the dashboard: the radar's change events (ui/radar.py) also tell the Checker
(core/engine/checks.py), which runs an agent's `when: commit` checks when its branch has a commit
they have not judged; what they said (this dashboard's runs, `agentdeck checks` in a terminal,
another dashboard's) is read from the store whenever it changes and shown as chips in the
sidebar; `f` sends the selected agent's failing check's output to it as a message (held while
a prompt waits, as every message)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentdeck.core.agents.launch import is_shell
from agentdeck.core.engine.check_results import (
    FAIL,
    CheckResult,
    CheckStore,
    branch_tip,
    chips,
)
from agentdeck.core.engine.checks import Checker
from agentdeck.core.git.watch import FileWatcher
from agentdeck.ui.host_messages import ChecksChanged, ChecksRead

if TYPE_CHECKING:
    from agentdeck.ui.screens.dashboard import DashboardScreen

SENT_LINES = 60  # of a failing check's output, in the message to its agent


def failure_message(result: CheckResult) -> str:
    """What an agent is told of its failing check: which, on which commit, the end of the
    output, and what to do."""
    lines = result.output_tail.rstrip().splitlines()[-SENT_LINES:]
    return (f"The check \"{result.name}\" (`{result.run}`) failed on your commit "
            f"{result.commit[:10]}. The end of its output:\n\n" + "\n".join(lines) +
            "\n\nPlease fix it and commit.")


class CheckWatch:
    """The dashboard's collaborator for checks: it tells the screen by messages."""

    def __init__(self, screen: DashboardScreen) -> None:
        self.screen = screen
        self.deck = screen.deck
        self.store = CheckStore(self.deck.ctx.state_dir)
        self.checker: Checker | None = None
        self.results: dict[str, dict[str, CheckResult]] = {}  # as last read
        self.tips: dict[str, str | None] = {}
        self._watcher: FileWatcher | None = None

    @property
    def wanted(self) -> bool:
        fleet = self.deck.fleet
        return bool(fleet.checks) or any(a.checks for a in fleet.agents)

    def start(self) -> None:
        """Start judging commits (those made while no dashboard looked included), and follow
        the store."""
        if not self.wanted:
            return
        screen = self.screen

        def changed(_name: str = "") -> None:  # (the checker's or the watcher's thread)
            screen.post_message(ChecksChanged())

        self.checker = Checker(self.deck.ctx, self.deck.fleet, lambda: self.deck.local_records,
                               changed)
        self._watcher = FileWatcher(self.store.path, changed).start()
        self.checker.moved(None)
        self.read()

    def moved(self, names: set[str] | None) -> None:
        if self.checker is not None:
            self.checker.moved(names)

    def read(self) -> None:
        if self.wanted:
            self.screen.run_worker(self._read, thread=True, exclusive=True, group="checks",
                                   exit_on_error=False)

    def _read(self) -> None:  # (a worker's thread)
        results = self.store.load()
        common = self.deck.ctx.common_dir
        tips = {r.name: branch_tip(common, r.branch) for r in self.deck.local_records}
        shown = {name: chips(results.get(name, {}), tip) for name, tip in tips.items()}
        self.screen.post_message(ChecksRead(shown, results, tips))

    def took(self, message: ChecksRead) -> None:
        self.results, self.tips = message.results, message.tips

    def failing(self, name: str) -> list[CheckResult]:
        tip = self.tips.get(name)
        return [r for _, r in sorted(self.results.get(name, {}).items()) if r.shown(tip) == FAIL]

    def send_failure(self, name: str | None) -> None:
        """`f`: the selected agent's failing checks, told to it as one message."""
        screen = self.screen
        if name is None:
            return
        failed = self.failing(name)
        if not failed:
            screen.notify(f"{name} has no failing check on its latest commit",
                          severity="information")
            return
        rec = next((r for r in self.deck.records if r.name == name), None)
        if rec is not None and is_shell(self.deck.fleet, rec.agent):
            screen.notify(f"{name} is a shell: it would run the output as commands; read it "
                          f"with `agentdeck checks {name} --last`", severity="warning")
            return
        text = "\n\n".join(failure_message(r) for r in failed)
        actions = screen.agents
        actions._in_thread(lambda: actions.deliver([name], text), "message")

    def stop(self) -> None:
        if self.checker is not None:
            self.checker.close()
        if self._watcher is not None:
            self._watcher.stop()
