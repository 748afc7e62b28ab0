"""`agentdeck start`, `stop`, `restart` and `logs`, and what the session host says of each
agent (`ls`).

Stopping ends the agent's whole process tree (dev servers and watchers it started included),
politely first; it frees nothing else: worktree, branch, port and database stay, and `start` or
`restart` brings the agent back where it was (its CLI's resume command, if the fleet names one).
"""

from __future__ import annotations

import argparse
import sys
import time

from agentdeck.commands.context import attach_deck, fleet_of, repo
from agentdeck.core.agents.sessions import RUNNING, STOP_GRACE
from agentdeck.core.errors import OperationError, UsageError
from agentdeck.core.fleet.registry import Registry
from agentdeck.core.fleet.spec import Fleet
from agentdeck.core.git.repo import RepoContext
from agentdeck.core.hostlock import hosting_dashboard


def _known(ctx: RepoContext, names: list[str]) -> None:
    agents = Registry(ctx.state_dir).load().agents
    unknown = [n for n in names if n not in agents]
    if unknown:
        raise UsageError(f"no agent named {', '.join(unknown)} (`agentdeck ls` lists them)")


def cmd_stop(args: argparse.Namespace) -> int:
    from agentdeck.daemon import lifecycle

    ctx = repo()
    names, status = _elsewhere(ctx, args, "stop")
    if not names:
        return status
    _known(ctx, names)
    host = lifecycle.connect(ctx.state_dir)
    if host is None:
        dashboard = hosting_dashboard(ctx.state_dir)
        if dashboard is not None:
            raise OperationError(f"the agents run inside a dashboard (pid {dashboard}:"
                                 " agentdeck --no-daemon); stop them there with X")
        print("no session host runs, so no agent is running")
        return 0
    try:
        running = {i.name for i in host.sessions() if i.process == RUNNING}
        for name in names:
            if name not in running:
                print(f"{name}: not running")
                continue
            host.stop(name, STOP_GRACE)
            print(f"{name}: stopped (its worktree, branch, port and database stay; "
                  f"`agentdeck start {name}` starts it again)")
    finally:
        host.close()
    return 0


def cmd_restart(args: argparse.Namespace) -> int:
    ctx = repo()
    names, status = _elsewhere(ctx, args, "restart")
    if not names:
        return status
    _known(ctx, names)
    deck = attach_deck(ctx, fleet_of(ctx, args))
    try:
        records = {r.name: r for r in deck.records}
        sessions = {i.name: i for i in deck.host.sessions()}
        for name in names:
            rec = records.get(name)
            if rec is None:
                raise OperationError(f"{name} has no workspace: `agentdeck up {name}` makes it")
            ran = name in sessions
            if ran and sessions[name].process == RUNNING:
                deck.host.stop(name, STOP_GRACE)
            deck.start(rec, resume=ran)
            print(f"{name}: restarted" if ran else f"{name}: started")
    finally:
        deck.close()
    return 0


def cmd_start(args: argparse.Namespace) -> int:
    ctx = repo()
    names, status = _elsewhere(ctx, args, "start")
    if args.names and not names:
        return status
    return start(ctx, fleet_of(ctx, args), names) or status


def _elsewhere(ctx: RepoContext, args: argparse.Namespace, command: str) -> tuple[list[str], int]:
    """Run `command` for the named agents of other hosts there; returns this machine's names
    (all of them when none was named), and the exit status of what ran there."""
    from agentdeck.commands.on_hosts import run_there, split

    fleet = fleet_of(ctx, args)
    if not any(a.host for a in fleet.agents):
        return list(args.names), 0
    here, there = split(fleet, args.names)
    status = 0
    for host, names in there.items():
        status = run_there(fleet, fleet.hosts[host], [command, *names]) or status
    return here, status


def start(ctx: RepoContext, fleet: Fleet, names: list[str]) -> int:
    """Start the named agents (default: every agent not running) in the session host; one
    that ran before resumes (its CLI's resume command, when the fleet names one). Refused
    before a session host starts when there is nothing to start: none is left behind."""
    if not Registry(ctx.state_dir).load().agents:
        if any(a.host for a in fleet.agents):
            return 0  # (the other hosts' agents were started there)
        raise UsageError("no agents yet: `agentdeck up` creates the fleet's, `agentdeck spawn "
                         "NAME` adds one")
    _known(ctx, names)
    deck = attach_deck(ctx, fleet)
    try:
        known = {r.name: r for r in deck.records}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UsageError(f"no agent named {', '.join(unknown)} (agentdeck ls lists them)")
        sessions = {i.name: i for i in deck.host.sessions()}
        running = {n for n, i in sessions.items() if i.process == RUNNING}
        todo = [known[n] for n in names] if names else [
            r for r in deck.records if r.name not in running]
        status = 0
        for rec in todo:
            if rec.name in running:
                print(f"{rec.name}: already running")
                continue
            # it ran before (its session ended, or died with an earlier daemon): resume it
            error = deck.start(rec, resume=rec.name in sessions)
            if error:
                said = error if rec.name in error else f"{rec.name}: {error}"
                print(f"agentdeck: {said} (not started)", file=sys.stderr)
                status = 1
            else:
                print(f"{rec.name}: started")
        if deck.typing:
            # this process ends next: the tasks its threads type must be typed first
            print(f"typing the task into {', '.join(deck.typing)} once ready…", flush=True)
            for name in deck.wait_for_tasks():
                print(f"agentdeck: {name} was not ready in time: its task was not typed; "
                      "open `agentdeck` and send it as a message (m)", file=sys.stderr)
                status = 1
    finally:
        deck.close()
    return status


def cmd_logs(args: argparse.Namespace) -> int:
    """An agent's transcript (the rotated part first); -f keeps printing what it adds."""
    from agentdeck.commands.on_hosts import flags, forward
    from agentdeck.daemon.server import TRANSCRIPTS

    ctx = repo()
    there = forward(fleet_of(ctx, args), args.name, ["logs", args.name, *flags(args, "follow")])
    if there is not None:
        return there
    path = ctx.state_dir / TRANSCRIPTS / f"{args.name}.log"
    older = path.with_suffix(".log.1")
    if not path.exists() and not older.exists():
        raise OperationError(f"no transcript for '{args.name}' (agents started by the session "
                             "host daemon have one)")
    out = sys.stdout.buffer
    for part in (older, path):
        if part.exists():
            out.write(part.read_bytes())
    out.flush()
    if not args.follow:
        return 0
    position = path.stat().st_size if path.exists() else 0
    try:
        while True:
            time.sleep(0.2)  # polling a file the daemon appends to, like `tail -f`
            if not path.exists():
                continue
            size = path.stat().st_size
            if size < position:  # rotated
                position = 0
            if size > position:
                with path.open("rb") as fh:
                    fh.seek(position)
                    out.write(fh.read())
                    out.flush()
                position = size
    except KeyboardInterrupt:
        return 0
