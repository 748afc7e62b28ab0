"""Checks in the dashboard: in a dashboard that hosts its agents itself, the radar's change
events (ui/radar.py) also tell the Checker (core/engine/checks.py), which runs an agent's
`when: commit` checks when its branch has a commit they have not judged (a session host daemon
runs its own: core/engine/checks.CommitChecks). What they said (these runs, the daemon's,
`agentdeck checks` in a terminal, another dashboard's) is read from the store whenever it
changes and shown as chips in the sidebar; `f` sends the selected agent's failing check's
output to it as a message (held while a prompt waits, as every message).

An agent with a pull request (`agentdeck pr`) has its state and its checks there beside them,
asked of `gh` when the dashboard opens and every PULLS_EVERY seconds (the forge tells nothing
by itself); `f` hands a failing remote check's log (or link) to the agent too. `C` opens the
compare screen on the selected agent's fanout."""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Any

from agentdeck.core.agents.launch import is_shell
from agentdeck.core.engine.check_results import (
    FAIL,
    CheckResult,
    CheckStore,
    branch_tip,
    chips,
)
from agentdeck.core.engine.checks import Checker
from agentdeck.core.errors import AgentdeckError
from agentdeck.core.git.github import GitHubRepo, Links, failed_log, pr_chip, pr_state
from agentdeck.core.git.watch import FileWatcher
from agentdeck.ui.host_messages import ChecksChanged, ChecksRead

if TYPE_CHECKING:
    from agentdeck.ui.screens.dashboard import DashboardScreen

SENT_LINES = 60  # of a failing check's output, in the message to its agent
PULLS_EVERY = 60.0  # seconds between looks at the agents' pull requests


# escape sequences and control characters of a check's output: typed into an agent's TUI they
# would be keys (a paste's end, an Enter), not text
_CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?|"
                      r"[\x00-\x08\x0b-\x1f\x7f]")


def failure_message(result: CheckResult) -> str:
    """What an agent is told of its failing check: which, on which commit, the end of the
    output (as plain text), and what to do."""
    lines = _CONTROL.sub("", result.output_tail).rstrip().splitlines()[-SENT_LINES:]
    return (f"The check \"{result.name}\" (`{result.run}`) failed on your commit "
            f"{result.commit[:10]}. The end of its output:\n\n" + "\n".join(lines) +
            "\n\nPlease fix it and commit.")


def remote_message(check: dict[str, Any], pull: dict[str, Any]) -> str:
    """A failing check of the agent's pull request, told with the end of its log where gh can
    fetch it (GitHub Actions), else its link (blocking: gh)."""
    log = failed_log(str(pull.get("repo") or ""), str(check.get("url") or ""))
    where = f"on your pull request ({pull.get('url')})"
    if log is None:
        return (f"The check \"{check['name']}\" failed {where}: {check.get('url') or 'no link'}"
                ". Please fix it and commit.")
    return (f"The check \"{check['name']}\" failed {where}. The end of its log:\n\n"
            + _CONTROL.sub("", log) + "\n\nPlease fix it and commit.")


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
        self._lock = threading.Lock()
        self._chips: dict[str, str] = {}  # the checks' chips, as last read
        self.pulls: dict[str, dict[str, Any]] = {}  # each agent's pull request, as gh said

    @property
    def wanted(self) -> bool:
        fleet = self.deck.fleet
        return bool(fleet.checks) or any(a.checks for a in fleet.agents)

    def start(self) -> None:
        """Start judging commits (those made while no dashboard looked included), and follow
        the store; look at the agents' pull requests now and then."""
        self.look_at_pulls()
        self.screen.set_interval(PULLS_EVERY, self.look_at_pulls)
        if not self.wanted:
            return
        screen = self.screen

        def changed(_name: str = "") -> None:  # (the checker's or the watcher's thread)
            screen.post_message(ChecksChanged())

        if not self.deck.persistent:  # (a session host daemon runs them itself)
            self.checker = Checker(self.deck.ctx, self.deck.fleet,
                                   lambda: self.deck.local_records, changed)
            self.checker.moved(None)
        self._watcher = FileWatcher(self.store.path, changed).start()
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
        with self._lock:
            self._chips = {name: chips(results.get(name, {}), tip) for name, tip in tips.items()}
        self.screen.post_message(ChecksRead(self._shown(), results, tips))

    def _shown(self) -> dict[str, str]:
        """Each agent's chips: its checks', then its pull request's."""
        with self._lock:
            names = set(self._chips) | set(self.pulls)
            return {n: " ".join(x for x in (self._chips.get(n, ""),
                                            pr_chip(self.pulls[n]) if n in self.pulls else "")
                                if x) for n in names}

    def look_at_pulls(self) -> None:
        self.screen.run_worker(self._pulls, thread=True, exclusive=True, group="pulls",
                               exit_on_error=False)

    def _pulls(self) -> None:  # (a worker's thread: gh asks the forge)
        links = Links(self.deck.ctx.state_dir).load()
        branches = {r.name: r.branch for r in self.deck.local_records}
        found: dict[str, dict[str, Any]] = {}
        for name, link in links.items():
            spec = str(link.get("pr_repo") or "")
            if name not in branches or spec.count("/") != 2:
                continue
            try:
                found[name] = {**pr_state(GitHubRepo(*spec.split("/")), branches[name]),
                               "repo": spec}
            except (AgentdeckError, OSError, ValueError):
                continue  # (offline, logged out: the chip shows what it said last)
        if not found:
            return
        with self._lock:
            self.pulls.update(found)
        self.screen.post_message(ChecksRead(self._shown(), self.results, self.tips))

    def took(self, message: ChecksRead) -> None:
        self.results, self.tips = message.results, message.tips

    def remote_failures(self, name: str) -> list[dict[str, Any]]:
        pull = self.pulls.get(name)
        return [c for c in pull["checks"] if c["status"] == "fail"] if pull else []

    def failing(self, name: str) -> list[CheckResult]:
        tip = self.tips.get(name)
        return [r for _, r in sorted(self.results.get(name, {}).items()) if r.shown(tip) == FAIL]

    def send_failure(self, name: str | None) -> None:
        """`f`: the selected agent's failing checks, told to it as one message."""
        screen = self.screen
        if name is None:
            return
        failed = self.failing(name)
        remote = self.remote_failures(name)
        if not failed and not remote:
            screen.notify(f"{name} has no failing check on its latest commit",
                          severity="information")
            return
        rec = next((r for r in self.deck.records if r.name == name), None)
        if rec is not None and is_shell(self.deck.fleet, rec.agent):
            screen.notify(f"{name} is a shell: it would run the output as commands; read it "
                          f"with `agentdeck checks {name} --last`", severity="warning")
            return
        local = [failure_message(r) for r in failed]
        pull = dict(self.pulls.get(name) or {})
        actions = screen.agents

        def send() -> None:  # (a worker's thread: the remote logs come through gh)
            said = [*local, *(remote_message(c, pull) for c in remote)]
            actions.deliver([name], "\n\n".join(said))

        actions._in_thread(send, "message")

    def compare(self, name: str | None) -> None:
        """`C`: the compare screen on the agent's fanout (else the newest one)."""
        screen = self.screen

        def find() -> None:  # (a worker's thread: the groups are a file)
            from agentdeck.ui.screens.compare import CompareScreen, group_for

            group = group_for(self.deck, name)
            if group is None:
                screen.app.call_from_thread(screen.notify, "no fanout to compare: `agentdeck "
                                            "fanout BASE --task …` makes one")
                return
            screen.app.call_from_thread(screen.app.push_screen, CompareScreen(self.deck, group))

        screen.run_worker(find, thread=True, exclusive=True, group="compare",
                          exit_on_error=False)

    def stop(self) -> None:
        if self.checker is not None:
            self.checker.close()
        if self._watcher is not None:
            self._watcher.stop()
