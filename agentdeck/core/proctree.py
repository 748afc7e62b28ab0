"""Process trees: what an agent started is stopped with it.

An agent runs dev servers, watchers and test runners. Closing its terminal (SIGHUP) reaches only
the processes still attached to it; a dev server started in the background, or one that
re-parented itself to init, would outlive the agent and keep its port. So a stop collects the
whole tree first — every descendant, and every process still in the agent's session even if its
parent went — asks each to end (SIGHUP to the agent, as a closing terminal would; SIGTERM to the
rest), and kills what is left after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

import psutil


def tree_of(pid: int) -> list[psutil.Process]:
    """The process, its descendants, and the processes left in its session (it leads one: a
    PTY's child does)."""
    try:
        leader = psutil.Process(pid)
        found = {p.pid: p for p in [leader, *leader.children(recursive=True)]}
    except psutil.Error:
        return []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if proc.pid not in found and os.getsid(proc.pid) == pid:
                found[proc.pid] = proc
                for child in proc.children(recursive=True):
                    found.setdefault(child.pid, child)
    return list(found.values())


MARKER = "AGENTDECK_RUN"  # in each agent's environment: one value per start of one agent


def marked(value: str) -> list[psutil.Process]:
    """This user's processes whose environment carries MARKER=value: what an agent started
    and then lost track of — a double-forked, setsid daemon belongs to no tree and no session
    any more, but keeps the environment it inherited (unless it scrubbed it on purpose)."""
    found = []
    needle = f"{MARKER}={value}".encode()
    uid = os.getuid()
    for proc in psutil.process_iter(["uids"]):
        with contextlib.suppress(psutil.Error, OSError):
            if proc.info["uids"] is None or proc.info["uids"].real != uid:
                continue
            with open(f"/proc/{proc.pid}/environ", "rb") as fh:  # (cheaper than a dict)
                if needle in fh.read().split(b"\0"):
                    found.append(proc)
    return found


def end_tree(pid: int, grace: float = 3.0, marker: str | None = None,
             reap: bool = True) -> list[int]:
    """End `pid` and its tree (with `marker`, every process carrying it too): politely, then
    SIGKILL for whatever is left after `grace` seconds. Returns the pids that had to be
    killed. `reap` False: `pid` is a child whose exit status its owner collects (asyncio's
    child watcher): it is waited for until it is a zombie, never reaped here — reaped, its
    owner would find no such child and report 255."""
    procs = tree_of(pid) if pid > 0 else []
    if marker:
        known = {p.pid for p in procs}
        procs += [p for p in marked(marker) if p.pid not in known]
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(signal.SIGHUP if proc.pid == pid else signal.SIGTERM)
    keep = None if reap else pid
    alive = _wait_ended(procs, grace, keep)
    for proc in alive:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    _wait_ended(alive, grace, keep)
    return [p.pid for p in alive]


def _wait_ended(procs: list[psutil.Process], timeout: float,
                keep: int | None = None) -> list[psutil.Process]:
    """Those of `procs` still running after up to `timeout` seconds. Ours are reaped (but
    `keep`); another's that has exited counts as ended: orphaned, it waits for init, which on
    some machines (a container's, a VM's: 1.6 s here) reaps late, and psutil's wait would wait
    for that."""
    deadline = time.monotonic() + timeout
    while True:
        # (reaps those that are our children)
        _, alive = psutil.wait_procs([p for p in procs if p.pid != keep], timeout=0)
        alive += [p for p in procs if p.pid == keep]
        alive = [p for p in alive if not _exited(p)]
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.01)


def _exited(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False
