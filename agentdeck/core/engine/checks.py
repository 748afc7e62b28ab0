"""Running an agent's checks (the fleet's `checks:`, with the agent's own changes): each through
/bin/sh in its worktree, with the environment its session gets (its port, database and
.env.local), inside its sandbox when it has one (where every ref is read-only: a check judges a
commit and makes none), in a session of its own ended whole at its timeout.

`Checker` runs the `when: commit` checks of an agent whose branch got a new commit, told so by
whoever watches the refs (the dashboard's radar: its change events); `run_checks` runs them now
(`agentdeck checks`). Results go to the store (check_results.py) that every client reads.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agentdeck.core.agents import sandbox as fence
from agentdeck.core.agents.launch import environment_for
from agentdeck.core.agents.sessions import SessionSpec
from agentdeck.core.engine.check_results import (
    FAIL,
    PASS,
    STALE,
    TAIL_CHARS,
    CheckResult,
    CheckStore,
    branch_tip,
)
from agentdeck.core.errors import AgentdeckError
from agentdeck.core.fleet.checkspec import CheckSpec
from agentdeck.core.fleet.registry import AgentRecord
from agentdeck.core.fleet.spec import Fleet
from agentdeck.core.git.repo import RepoContext
from agentdeck.core.git.watch import ChangeWatcher
from agentdeck.core.proctree import end_tree

OUTPUT_MAX = 2 << 20  # bytes of a check's output kept (its end: where failures are told)


def check_spec(ctx: RepoContext, fleet: Fleet, rec: AgentRecord, check: CheckSpec,
               records: Sequence[AgentRecord]) -> SessionSpec:
    """How the check runs for this agent: its command in its worktree with its environment,
    wrapped in its sandbox when the fleet fences it in (`records`: the other agents, whose
    worktrees the sandbox hides)."""
    env = environment_for(fleet, rec)
    env.pop("TERM_PROGRAM", None)  # (not a terminal: a plain pipe)
    spec = SessionSpec(name=rec.name, argv=("/bin/sh", "-c", check.run or "true"),
                       cwd=rec.worktree, env=env, agent=rec.agent)
    sandbox = (fleet.agent(rec.name) or fleet.defaults).sandbox
    if sandbox.on:
        spec = fence.wrap(spec, sandbox, rec, ctx.common_dir, ctx.main_root, records,
                          ctx.state_dir, refs=False)
    return spec


class Runs:
    """The checks running now, to be ended together (a dashboard that closes)."""

    def __init__(self) -> None:
        self._pids: set[int] = set()
        self._lock = threading.Lock()
        self.closed = threading.Event()

    def add(self, pid: int) -> None:
        """A check started; one that started as they were all ended is ended now (its
        runner may get here only after end_all took the list: a started check runs on)."""
        with self._lock:
            if not self.closed.is_set():
                self._pids.add(pid)
                return
        self._end([pid])

    def discard(self, pid: int) -> None:
        with self._lock:
            self._pids.discard(pid)

    def end_all(self) -> None:
        """End them all without waiting (a dashboard quitting is not held up): each check's
        session is told to end now, and a thread of its own kills what lingers."""
        self.closed.set()  # (before the list is taken: add() sees one or the other)
        with self._lock:
            pids = list(self._pids)
        self._end(pids)

    @staticmethod
    def _end(pids: list[int]) -> None:
        for pid in pids:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGTERM)  # (each runs in a session of its own)
        if pids:
            threading.Thread(target=lambda: [end_tree(p, grace=2.0) for p in pids],
                             name="agentdeck-checks-end", daemon=True).start()


def run_check(ctx: RepoContext, fleet: Fleet, rec: AgentRecord, check: CheckSpec,
              records: Sequence[AgentRecord], commit: str, store: CheckStore,
              runs: Runs | None = None) -> CheckResult:
    """Run one check now and record its result (blocking: off the event loop)."""
    started = time.monotonic()
    out: deque[bytes] = deque()
    kept = 0
    code: int | None = None
    timed_out = threading.Event()
    try:
        spec = check_spec(ctx, fleet, rec, check, records)
        proc = subprocess.Popen(list(spec.argv), cwd=spec.cwd, env=dict(spec.env),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
    except (AgentdeckError, OSError) as exc:
        out.append(f"agentdeck: the check could not start: {exc}\n".encode())
    else:
        if runs is not None:
            runs.add(proc.pid)

        def too_long() -> None:
            timed_out.set()
            end_tree(proc.pid, grace=3.0)

        watchdog = threading.Timer(check.seconds, too_long)
        watchdog.daemon = True
        watchdog.start()
        assert isinstance(proc.stdout, io.BufferedReader)
        while chunk := proc.stdout.read1(65536):
            out.append(chunk)
            kept += len(chunk)
            while kept > OUTPUT_MAX and len(out) > 1:
                kept -= len(out.popleft())
        code = proc.wait()
        watchdog.cancel()
        if runs is not None:
            runs.discard(proc.pid)
        if timed_out.is_set():
            out.append(f"\nagentdeck: ended after {check.seconds:g} s, its timeout\n".encode())
    text = b"".join(out).decode("utf-8", "replace")
    status = PASS if code == 0 and not timed_out.is_set() else FAIL
    if runs is not None and runs.closed.is_set() and status == FAIL:
        status, text = STALE, text + "\nagentdeck: interrupted (its runner closed)\n"
    result = CheckResult(check.name, status, commit, time.monotonic() - started,
                         text[-TAIL_CHARS:], check.run or "", time.time())
    store.put(rec.name, result, text)
    return result


def checks_of(fleet: Fleet, rec: AgentRecord, names: Sequence[str] = (),
              commit_only: bool = False) -> list[CheckSpec]:
    """The agent's checks (only those named, when names are given; only `when: commit`)."""
    return [c for c in fleet.checks_for(rec.name)
            if (not names or c.name in names) and (c.on_commit or not commit_only)]


def run_checks(ctx: RepoContext, fleet: Fleet, recs: Sequence[AgentRecord],
               records: Sequence[AgentRecord], names: Sequence[str] = (),
               on_result: Callable[[str, CheckResult], None] = lambda _a, _r: None
               ) -> dict[str, list[CheckResult]]:
    """Run the agents' checks now (every one, `when: manual` included; only `names` when
    given), agent after agent; `on_result` hears each as it ends."""
    store = CheckStore(ctx.state_dir)
    done: dict[str, list[CheckResult]] = {}
    for rec in recs:
        commit = ctx.git_try("rev-parse", "HEAD", cwd=Path(rec.worktree)) or ""
        for check in checks_of(fleet, rec, names):
            store.claim(rec.name, check.name, commit.strip(), check.run or "", force=True)
            result = run_check(ctx, fleet, rec, check, records, commit.strip(), store)
            done.setdefault(rec.name, []).append(result)
            on_result(rec.name, result)
    return done


class Checker:
    """Runs the `when: commit` checks of agents whose branch got a new commit — one agent's
    checks one after the other, two agents at a time — on threads of its own. `moved(names)`
    never waits (the radar's change events call it); `on_change(agent)` is told, from those
    threads, when an agent's results change (a check started or ended)."""

    def __init__(self, ctx: RepoContext, fleet: Fleet,
                 records: Callable[[], list[AgentRecord]],
                 on_change: Callable[[str], None] = lambda _name: None,
                 workers: int = 2) -> None:
        self.ctx, self.fleet, self.records, self.on_change = ctx, fleet, records, on_change
        self.store = CheckStore(ctx.state_dir)
        self.runs = Runs()
        self._pool = ThreadPoolExecutor(max_workers=workers,
                                        thread_name_prefix="agentdeck-checks")
        self._lock = threading.Lock()
        self._busy: set[str] = set()  # agents whose checks run now
        self._again: set[str] = set()  # …whose branch moved meanwhile

    def moved(self, names: set[str] | None) -> None:
        """These agents' branches may have moved (None: any agent's): check what is new."""
        if self.runs.closed.is_set() or not any(c.on_commit for c in self._all_checks()):
            return
        with contextlib.suppress(RuntimeError):  # (closed meanwhile)
            self._pool.submit(self._look, names)

    def _all_checks(self) -> list[CheckSpec]:
        return [*self.fleet.checks, *(c for a in self.fleet.agents for c in a.checks)]

    def _look(self, names: set[str] | None) -> None:
        for rec in self.records():
            if rec.host or (names is not None and rec.name not in names):
                continue
            if not checks_of(self.fleet, rec, commit_only=True) or not Path(rec.worktree).is_dir():
                continue
            with self._lock:
                if rec.name in self._busy:
                    self._again.add(rec.name)
                    continue
                self._busy.add(rec.name)
            with contextlib.suppress(RuntimeError):
                self._pool.submit(self._run_agent, rec)

    def _run_agent(self, rec: AgentRecord) -> None:
        try:
            tip = branch_tip(self.ctx.common_dir, rec.branch)
            # a branch with no commit of its own yet has nothing of the agent's to judge
            if tip and tip != rec.base_commit:
                for check in checks_of(self.fleet, rec, commit_only=True):
                    if self.runs.closed.is_set():
                        return
                    if not self.store.claim(rec.name, check.name, tip, check.run or ""):
                        continue  # judged already (or being judged elsewhere)
                    self.on_change(rec.name)
                    run_check(self.ctx, self.fleet, rec, check, self.records(), tip,
                              self.store, self.runs)
                    self.on_change(rec.name)
        except (AgentdeckError, OSError):
            pass  # (the store keeps what it had; the next commit tries again)
        finally:
            with self._lock:
                self._busy.discard(rec.name)
                again = rec.name in self._again
                self._again.discard(rec.name)
            if again:
                self.moved({rec.name})

    def close(self) -> None:
        """End the checks running now (their results: stale) and run no more."""
        self.runs.end_all()
        self._pool.shutdown(wait=False, cancel_futures=True)


class CommitChecks:
    """The session host's checks (the daemon's): a Checker told by a watch on the repository's
    refs, so an agent's new commit is judged with no dashboard open. Made again only when the
    fleet's checks change (each dashboard that attaches configures the session host)."""

    def __init__(self) -> None:
        self.checker: Checker | None = None
        self._watcher: ChangeWatcher | None = None
        self._key: object = None

    def configure(self, ctx: RepoContext, fleet: Fleet,
                  records: Callable[[], list[AgentRecord]]) -> None:
        key = (fleet.checks, tuple((a.name, a.checks) for a in fleet.agents))
        if key == self._key:
            if self.checker is not None:
                self.checker.fleet = fleet  # (their env, sandbox: as the file says now)
            return
        self.close()
        self._key = key
        if not any(c.run for c in (*fleet.checks, *(c for a in fleet.agents for c in a.checks))):
            return
        self.checker = checker = Checker(ctx, fleet, records)
        # (no agents' worktrees: only the refs, and any branch moving has every agent's tip
        # looked at, which is reading a few files)
        self._watcher = ChangeWatcher(ctx, [], lambda _names: checker.moved(None)).start()
        checker.moved(None)  # what was committed while nothing watched

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher = None
        if self.checker is not None:
            self.checker.close()
            self.checker = None
