"""`agentdeck daemon run | start | status | stop | restart`: the session host that keeps the
agents running while no dashboard is open."""

from __future__ import annotations

import argparse
from pathlib import Path

from agentdeck.commands.context import fleet_of, repo
from agentdeck.core.agents.sessions import state_label
from agentdeck.core.errors import OperationError, UsageError


def cmd_daemon(args: argparse.Namespace) -> int:
    from agentdeck.daemon import lifecycle
    from agentdeck.daemon.server import run_daemon

    if args.action == "run" and args.state_dir is not None:  # how `ensure` starts it
        return run_daemon(args.state_dir, args.fleet)
    ctx = repo()
    fleet = fleet_of(ctx, args)
    if args.action == "run":  # in the foreground, for a service manager or by hand
        if lifecycle.connect(ctx.state_dir) is not None:
            raise OperationError("a session host daemon already runs for this repository "
                                 "(`agentdeck daemon status`)")
        return run_daemon(ctx.state_dir, fleet.path)
    if args.action == "attach":
        if not args.stdio:
            raise UsageError("`agentdeck daemon attach` needs --stdio (it is what a dashboard "
                             "on another machine runs through ssh)")
        from agentdeck.daemon.bridge import bridge

        return bridge(ctx.state_dir, fleet.path)
    if args.action == "start":
        host = lifecycle.ensure(ctx.state_dir, fleet.path)
        print(f"agentdeck daemon running (pid {host.daemon_pid})")
        host.close()
        return 0
    if args.action == "restart":  # e.g. after upgrading agentdeck: the new version's session host
        lifecycle.stop(ctx.state_dir)
        host = lifecycle.ensure(ctx.state_dir, fleet.path)
        print(f"agentdeck daemon restarted (pid {host.daemon_pid}); its agents ended with the "
              "old one: `agentdeck start` starts them again, resuming")
        host.close()
        return 0
    if args.action == "stop":
        from agentdeck.web import background

        served_pid = background.stop(ctx.state_dir)  # (`serve --background`, beside it)
        if served_pid is not None:
            print(f"agentdeck serve (pid {served_pid}) stopped")
        stopped = lifecycle.stop(ctx.state_dir)
        print("agentdeck daemon stopped; its agents have ended" if stopped
              else "no agentdeck daemon was running")
        return 0
    return _status(ctx.state_dir)


def _status(state_dir: Path) -> int:
    """`agentdeck daemon status`: whether it runs, its sessions and waiting prompts."""
    from agentdeck.daemon import lifecycle

    host = lifecycle.connect(state_dir)
    if host is None:
        print("no agentdeck daemon is running (`agentdeck` or `agentdeck daemon start` "
              "starts one)")
        return 1
    try:
        sessions = host.sessions()
        waiting = len(host.queue_state["pending"])
        print(f"agentdeck daemon running (pid {host.daemon_pid}): {len(sessions)} sessions, "
              f"{waiting} prompts waiting")
        from agentdeck.web import background

        served = background.running(state_dir)
        if served is not None:
            print(f"  serving the dashboard at {served.url} (pid {served.pid})")
        if sessions:
            print(f"  {'AGENT':<16} {'KIND':<10} STATE")
        for info in sorted(sessions, key=lambda i: i.name):
            print(f"  {info.name:<16} {info.agent:<10} {state_label(info)}")
    finally:
        host.close()
    return 0
