"""What the commands start from: the repository, its fleet file, an engine over both, and the
session host that runs the agents."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from agentdeck.core.errors import UsageError
from agentdeck.core.fleet.registry import Registry
from agentdeck.core.fleet.schema import find_fleet_file, load_fleet
from agentdeck.core.fleet.spec import Fleet, empty_fleet
from agentdeck.core.git.repo import RepoContext, open_repo

if TYPE_CHECKING:
    from agentdeck.core.deck import Deck
    from agentdeck.core.engine.engine import Engine
    from agentdeck.daemon.client import RemoteHost


def repo() -> RepoContext:
    return open_repo(Path.cwd())


def fleet_of(ctx: RepoContext, args: argparse.Namespace, required: bool = False) -> Fleet:
    """The fleet file named by -f (the command's or the top-level one), else ./agentdeck.yaml,
    else the repository root's, else the one an earlier `up` used; an empty fleet when there is
    none and the command can do without (`required` makes that a usage error)."""
    explicit = getattr(args, "file", None) or args.top_file
    path = find_fleet_file(Path.cwd(), explicit) or find_fleet_file(ctx.main_root, None)
    if path is None:
        # The fleet an earlier `up` used still gives spawn its defaults.
        recorded = [r.fleet_file for r in Registry(ctx.state_dir).load().agents.values()
                    if r.fleet_file and Path(r.fleet_file).is_file()]
        path = Path(recorded[-1]) if recorded else None
    if path is None:
        if required:
            raise UsageError("no fleet file: pass -f FLEET or create agentdeck.yaml (the package's "
                             "sample_fleet.yaml documents every key)")
        return empty_fleet()
    return load_fleet(path)


def received_fleet() -> Path:
    """`--fleet-stdin`: the fleet another machine's agentdeck sent, saved for this host."""
    from agentdeck.core.agents.remote import read_framed, save_received_fleet

    return save_received_fleet(repo().state_dir, read_framed(sys.stdin.buffer))


def engine_of(ctx: RepoContext, fleet: Fleet, reconcile: bool = True) -> Engine:
    """An engine that reports setup progress on the terminal, after it has squared the registry
    with what is on disk (each correction printed as a note) unless `reconcile` is False."""
    from agentdeck.core.engine.engine import Engine
    from agentdeck.progress import SetupProgress

    engine = Engine(ctx, fleet, notify=notify, on_setup=SetupProgress())
    for note in engine.reconcile() if reconcile else ():
        print(f"note: {note}", file=sys.stderr)
    return engine


def notify(agent: str, message: str) -> None:
    print(f"  {agent}: {message}", flush=True)


def interactive() -> bool:
    # under `agentdeck serve`, textual-serve runs the dashboard with its web driver
    return (sys.stdin.isatty() and sys.stdout.isatty()) or "TEXTUAL_DRIVER" in os.environ


def attach_deck(ctx: RepoContext, fleet: Fleet, connected: RemoteHost | None = None) -> Deck:
    """The fleet's agents as the session host runs them (started when none runs; `connected`:
    a connection to it already made)."""
    from agentdeck.core.deck import Deck
    from agentdeck.daemon import lifecycle
    from agentdeck.daemon.client import RemoteQueue

    host = lifecycle.ensure(ctx.state_dir, fleet.path, connected=connected)
    if any(a.host for a in fleet.agents):  # and other hosts' session hosts, through ssh
        from agentdeck.daemon.host_set import attach_hosts

        return attach_hosts(ctx, fleet, host)
    return Deck.attach(ctx, fleet, host, RemoteQueue(host))


def daemon_runs(ctx: RepoContext) -> bool:
    from agentdeck.daemon import lifecycle

    host = lifecycle.connect(ctx.state_dir)
    if host is not None:
        host.close()
    return host is not None
