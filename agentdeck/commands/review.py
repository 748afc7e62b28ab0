"""`agentdeck diff`, `conflicts` and `merge`: an agent's work, where it collides with the
others', and bringing it home."""

from __future__ import annotations

import argparse
import json
import sys

from agentdeck.commands import on_hosts
from agentdeck.commands.context import fleet_of, repo
from agentdeck.commands.on_hosts import flags, forward
from agentdeck.core.errors import AgentdeckError, UsageError
from agentdeck.core.fleet.registry import AgentRecord, Registry
from agentdeck.core.git.repo import RepoContext


def _ready(ctx: RepoContext) -> dict[str, AgentRecord]:
    return {r.name: r for r in Registry(ctx.state_dir).load().agents.values()
            if r.status == "ready"}


def _named(agents: dict[str, AgentRecord], name: str) -> AgentRecord:
    if name not in agents:
        raise UsageError(f"no agent named {name} (agentdeck ls lists them)")
    return agents[name]


def cmd_diff(args: argparse.Namespace) -> int:
    from agentdeck.core.git import review

    ctx = repo()
    there = forward(fleet_of(ctx, args), args.name,
                    ["diff", args.name, *flags(args, "uncommitted")])
    if there is not None:
        return there
    text = review.diff(ctx, _named(_ready(ctx), args.name), uncommitted=args.uncommitted)
    sys.stdout.write(text + "\n" if text else "")
    return 0


def cmd_conflicts(args: argparse.Namespace) -> int:
    """Exit 1 when some pair of agents would conflict (for scripts), else 0."""
    from agentdeck.core.git import review

    ctx = repo()
    fleet = fleet_of(ctx, args)
    if not args.json:  # (each host's agents are compared there; JSON: this machine's)
        for host in on_hosts.remote.hosts_in_use(fleet):
            print(f"on {host.name}:")
            on_hosts.run_there(fleet, host, ["conflicts", *flags(args, "committed")])
    radar = review.radar(ctx, list(_ready(ctx).values()), uncommitted=not args.committed)
    conflicting = any(p.conflicts for p in radar.pairs)
    if args.json:
        print(json.dumps(radar.as_json(), indent=2))
        return 1 if conflicting else 0
    for pair in radar.pairs:
        if pair.conflicts:
            print(f"{pair.a} <> {pair.b}: conflict in {', '.join(pair.conflicts)}")
        else:
            print(f"{pair.a} <> {pair.b}: both change {', '.join(pair.overlap)} "
                  "(merges cleanly)")
    for order in radar.merge_order():
        print(f"merge order: {' → '.join(order)} (the one the others depend on least first)")
    for name, files in radar.scope.items():
        print(f"{name}: changed forbidden paths: {', '.join(files)}")
    if not radar.pairs and not radar.scope:
        print("no collisions")
    return 1 if conflicting else 0


def cmd_merge(args: argparse.Namespace) -> int:
    from agentdeck.core.git import review

    ctx = repo()
    fleet = fleet_of(ctx, args)
    there = forward(fleet, args.name, [
        "merge", args.name, *flags(args, "squash", "no_ff", "cleanup"),
        *(["--into", args.into] if args.into else [])])  # (this fleet file is edited here)
    if there is not None:
        if there == 0 and args.cleanup:
            from agentdeck.commands.workspaces import print_fleet_lines
            from agentdeck.core.fleet.edits import forget_in_fleet

            print_fleet_lines(args.name, forget_in_fleet(fleet, args.name, args.keep_in_fleet))
        return there
    agents = _ready(ctx)
    rec = _named(agents, args.name)
    how = "squash" if args.squash else "no-ff" if args.no_ff else "merge"
    for warning in review.merge_warnings(ctx, rec):
        print(f"agentdeck: warning: {warning}", file=sys.stderr)
    done = review.merge(ctx, rec, args.into, how, ctx.state_dir)
    print(f"{rec.name}: merged {done.branch} into {done.into} ({done.how}, {done.commit[:10]})")
    for other in agents.values():
        if other.name != rec.name and not other.in_main and review.base_of(
                ctx, other).removeprefix("origin/") == done.into:
            n = review.behind(ctx, other, done.into)
            if n:
                print(f"  {other.name}: {done.into} moved; {other.branch} is {n} behind")
    if args.cleanup:
        from agentdeck.core.engine.removal import retire
        from agentdeck.daemon import lifecycle

        host = lifecycle.connect(ctx.state_dir)
        try:
            out = retire(ctx, fleet, rec.name, host, delete_branch=True, drop_db=True,
                         merged_into=done.into)
        except AgentdeckError as exc:  # the merge happened: that is not a failure
            print(f"agentdeck: warning: merged, but not cleaned up: {exc}", file=sys.stderr)
            return 0
        finally:
            if host is not None:
                host.close()
        for line in (*out.done, *out.left):
            print(f"{rec.name}: {line}")
        from agentdeck.commands.workspaces import print_fleet_lines
        from agentdeck.core.fleet.edits import forget_in_fleet

        print_fleet_lines(rec.name, forget_in_fleet(fleet, rec.name, args.keep_in_fleet))
    else:
        print(f"  clean up with: agentdeck rm {rec.name} --delete-branch --drop-db")
    return 0
