"""`agentdeck ls`: every agent and its live state, fast (shell completion and scripts call it):
the registry and, only where a session host's socket exists, the host itself — no git beyond
finding the repository, no YAML, no terminal code."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from agentdeck.core.fleet.registry import Registry
from agentdeck.core.git.repo import RepoContext, open_repo
from agentdeck.core.hostlock import daemon_socket, hosting_dashboard

if TYPE_CHECKING:
    from agentdeck.core.fleet.spec import Fleet


def cmd_ls(args: argparse.Namespace) -> int:
    from pathlib import Path

    from agentdeck.core.fleet.views import reconcile, views
    from agentdeck.progress import fleet_table

    ctx = open_repo(Path.cwd())
    registry = Registry(ctx.state_dir)
    if args.names:  # for shell completion: names only
        for name in sorted(registry.load().agents):
            print(name)
        return 0
    for note in reconcile(registry):
        print(f"note: {note}", file=sys.stderr)
    rows = views(registry.load(), live_states(ctx))
    fleet = _fleet_with_hosts(ctx, args)
    if fleet is not None:
        from agentdeck.commands.on_hosts import listing
    if args.json:
        from agentdeck.core.engine.check_results import results_json

        there = listing(fleet, as_json=True) if fleet else []
        used = usage_by_agent(ctx)
        checks = results_json(ctx.state_dir, ctx.common_dir,
                              {v.name: v.branch for v in rows})
        print(json.dumps([{**v.as_json(), "host": "local", "usage": used.get(v.name),
                           "checks": checks.get(v.name, [])} for v in rows] + there, indent=2))
        return 0
    if rows:
        print(fleet_table(rows))
    elif fleet is None:
        print("no agents yet: `agentdeck up` creates the fleet, `agentdeck spawn NAME` adds one")
    if fleet is not None:
        listing(fleet, as_json=False)
    return 0


def _fleet_with_hosts(ctx: RepoContext, args: argparse.Namespace) -> Fleet | None:
    """The fleet file, only when it runs agents on other hosts (their rows come from there;
    a quick look at the file first: without hosts, `ls` reads no YAML)."""
    from pathlib import Path

    explicit: Path | None = getattr(args, "file", None) or args.top_file
    for path in (explicit, Path.cwd() / "agentdeck.yaml", ctx.main_root / "agentdeck.yaml"):
        if path is not None and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            if not any(line.startswith("hosts:") for line in text.splitlines()):
                return None
            from agentdeck.commands.on_hosts import fleet_with_hosts

            return fleet_with_hosts(path)
    return None


def usage_by_agent(ctx: RepoContext) -> dict[str, dict[str, object]]:
    """What each agent the session host runs has used (tokens, and cost where reported)."""
    socket_path = daemon_socket(ctx.state_dir)
    if not socket_path.exists():
        return {}
    from agentdeck.daemon.peek import session_infos

    return {i["name"]: {"tokens_in": i.get("tokens_in", 0), "tokens_out": i.get("tokens_out", 0),
                        "cost": i.get("cost")} for i in session_infos(socket_path) or []}


def live_states(ctx: RepoContext) -> dict[str, str]:
    """The state of each agent the session host runs or ran ("working", "exited (1)", …);
    "in dashboard PID" for agents a dashboard hosts itself; empty when nothing runs them."""
    host = None
    socket_path = daemon_socket(ctx.state_dir)
    if socket_path.exists():  # the daemon's client code only when one may run
        from agentdeck.daemon.peek import session_states

        states = session_states(socket_path)
        if states is not None:
            return states
        from agentdeck.daemon import lifecycle

        host = lifecycle.connect(ctx.state_dir)  # says why, if the peek found no answer
    if host is None:
        dashboard = hosting_dashboard(ctx.state_dir)
        if dashboard is not None:  # agentdeck --no-daemon
            label = f"in dashboard {dashboard}"
            return {name: label for name in Registry(ctx.state_dir).load().agents}
        return {}
    try:
        from agentdeck.core.agents.sessions import state_label

        return {info.name: state_label(info) for info in host.sessions()}
    finally:
        host.close()
