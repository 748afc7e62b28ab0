"""The dashboard: `agentdeck` (in this terminal), `agentdeck serve` (in a browser) and
`agentdeck demo` (on a throwaway repository)."""

from __future__ import annotations

import argparse
import gc
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar, cast

from agentdeck.commands.context import (
    attach_deck,
    engine_of,
    fleet_of,
    interactive,
    repo,
)
from agentdeck.core.errors import UsageError
from agentdeck.core.fleet.spec import Fleet
from agentdeck.core.git.repo import RepoContext

if TYPE_CHECKING:
    from agentdeck.core.deck import Deck
    from agentdeck.daemon.client import RemoteHost

T = TypeVar("T")


def cmd_dashboard(args: argparse.Namespace) -> int:
    ctx = repo()
    return open_dashboard(ctx, fleet_of(ctx, args), args.theme, daemon=not args.no_daemon)


def open_dashboard(ctx: RepoContext, fleet: Fleet, theme: str | None = None,
                   daemon: bool = True, restart: bool = False) -> int:
    from agentdeck.ui import collector

    collector.pause()  # until the first frames are drawn (ui/collector.py)
    try:
        return _open_dashboard(ctx, fleet, theme, daemon, restart)
    finally:
        gc.enable()


def _open_dashboard(ctx: RepoContext, fleet: Fleet, theme: str | None, daemon: bool,
                    restart: bool) -> int:
    from agentdeck.core.agents.roster import ready_records
    from agentdeck.core.deck import Deck, prepare
    from agentdeck.daemon import lifecycle

    if not interactive():
        raise UsageError("the dashboard needs a terminal; use `agentdeck ls` or `agentdeck up "
                         "--no-start` from scripts")
    from agentdeck.ui.themes import DEFAULT_THEME, check_theme, load_themes

    themes = load_themes()
    check_theme(theme or fleet.dashboard.theme or DEFAULT_THEME, themes)  # before anything starts
    if not daemon and any(a.host for a in fleet.agents):
        raise UsageError("agents on other hosts (fleet 'hosts') are reached through the session "
                         "host daemon: run `agentdeck` without --no-daemon")
    prepare(ctx, fleet, lambda: engine_of(ctx, fleet, reconcile=False))
    if not ready_records(ctx.state_dir) and not any(a.host for a in fleet.agents):
        _no_agents(fleet)  # said before any session host starts: none is left behind

    def attach() -> tuple[RemoteHost | None, Deck]:
        found = lifecycle.connect(ctx.state_dir)  # (one already running)
        deck = attach_deck(ctx, fleet, found)
        deck.host.prefetch_screens()  # (while the dashboard starts: its panes draw them at once)
        return found, deck

    # the session host is reached (and asked for its screens) while Textual's app and the
    # dashboard's widgets load, the bulk of the start: its replies wait on another process
    attached = _in_background(attach) if daemon else None
    from agentdeck.ui.app import AgentdeckApp

    found, deck = attached() if attached else (None, Deck.open(ctx, fleet))
    deck.restart_ended = restart  # `up` brings back agents that ended; plain `agentdeck` shows them
    if not deck.records:  # (other hosts' agents: none there either)
        deck.close()
        if daemon and found is None:  # the session host this refused start began
            lifecycle.stop(ctx.state_dir)
        _no_agents(fleet)
    try:
        # a dashboard served to a browser only watches: it never resizes the agents
        app = AgentdeckApp(deck, theme=theme, viewer="TEXTUAL_DRIVER" in os.environ,
                           themes=themes)
        app.run()
        running = [i.name for i in deck.host.sessions() if i.process == "running"]
    finally:
        deck.close()
    if deck.persistent and running:
        print(f"agentdeck: {len(running)} agent{'s' * (len(running) != 1)} keep running in the "
              "session host: `agentdeck` shows them again, `agentdeck stop NAME` stops one")
    from agentdeck.demo import where_it_lives  # (it loads the engine: not before the dashboard)

    demo = where_it_lives(ctx.state_dir)
    if demo:  # (a temp folder, named before the dashboard covered the terminal)
        print(demo)
    return app.return_code or 0  # a crash inside the dashboard is not a success


def _in_background(work: Callable[[], T]) -> Callable[[], T]:
    """`work` started on a thread now; the function returned waits for it and gives what it
    returned, or raises what it raised."""
    done: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            done.append((True, work()))
        except BaseException as exc:  # (raised again in the caller's thread)
            done.append((False, exc))

    thread = threading.Thread(target=run, name="agentdeck-attach", daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        ok, value = done[0]
        if not ok:
            raise value
        return cast(T, value)

    return result


def _no_agents(fleet: Fleet) -> NoReturn:
    if fleet.path is None:
        raise UsageError("no agentdeck.yaml here: `agentdeck init` writes one for this "
                         "repository, `agentdeck demo` shows one at work")
    raise UsageError("no agents yet: `agentdeck up` creates the fleet's, `agentdeck spawn "
                     "NAME` adds one, `agentdeck demo` shows one")


def cmd_demo(args: argparse.Namespace) -> int:
    from agentdeck.demo import run_demo

    return run_demo(args.dir, ui=not args.no_ui and interactive(), theme=args.theme)
