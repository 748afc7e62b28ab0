"""`agentdeck fanout`, `compare` and `keep`: one task to N agents, the candidates side by side,
and the best one merged with its siblings removed — never losing work it was not told to drop:
a sibling's uncommitted work stops `keep` unless --force, and every step is reported (a
deleted branch with the commit that brings it back)."""

from __future__ import annotations

import argparse
import json
import sys

from agentdeck.commands.context import daemon_runs, engine_of, fleet_of, repo
from agentdeck.core.errors import AgentdeckError, UsageError


def cmd_fanout(args: argparse.Namespace) -> int:
    from agentdeck.commands import sessions
    from agentdeck.commands.workspaces import report_up
    from agentdeck.core.engine.candidates import Groups, plan_fanout, record_group
    from agentdeck.core.fleet.edits import add_to_fleet_file
    from agentdeck.core.fleet.schema import load_fleet

    ctx = repo()
    fleet = fleet_of(ctx, args)
    kinds = [k.strip() for k in (args.agent or "").split(",") if k.strip()]
    if args.agent is not None and not kinds:
        raise UsageError("--agent takes kinds separated by commas, e.g. claude,codex")
    specs = plan_fanout(ctx, fleet, args.base, args.task, args.count, kinds)
    record_group(ctx, args.base, args.task, specs)  # (before they are made: keep knows them)
    engine = engine_of(ctx, fleet)
    try:
        result = engine.spawn(*specs)
    except AgentdeckError:
        Groups(ctx.state_dir).forget([s.name for s in specs])  # (none was made)
        raise
    if result.failed:
        Groups(ctx.state_dir).forget(list(result.failed))
    host_runs = daemon_runs(ctx)
    status = report_up(engine, result, started=not args.no_start,
                       starts_in_host=not args.no_start)
    made = [s for s in specs if s.name not in result.failed]
    if fleet.path is not None:
        for spec in made:
            try:
                add_to_fleet_file(fleet.path, spec)
                print(f"{spec.name}: added to {fleet.path}")
            except AgentdeckError as exc:
                print(f"agentdeck: warning: {spec.name} was made but not added to the fleet "
                      f"file: {exc}", file=sys.stderr)
    print(f"{args.base}: {len(made)} candidate(s) on the same task; `agentdeck compare "
          f"{args.base}` shows them side by side, `agentdeck keep NAME` keeps one")
    if status or args.no_start or not made:
        return status
    if not host_runs:
        print("starting them in the session host (it keeps them running with no dashboard "
              "open; `agentdeck` shows them)")
    return sessions.start(ctx, load_fleet(fleet.path) if fleet.path else fleet,
                          [s.name for s in made])


def cmd_compare(args: argparse.Namespace) -> int:
    from agentdeck.commands.listing import usage_by_agent
    from agentdeck.core.engine.candidates import Groups, compare

    ctx = repo()
    groups = Groups(ctx.state_dir).load()
    group = groups.get(args.base) or next((g for g in groups.values()
                                           if args.base in g.agents), None)
    if group is None:
        known = ", ".join(sorted(groups)) or "none yet (`agentdeck fanout BASE` makes some)"
        raise UsageError(f"no fanout named {args.base}; fanouts: {known}")
    compared = compare(ctx, group, usage_by_agent(ctx))
    found = compared.candidates
    if args.json:
        print(json.dumps({"base": group.base, "task": group.task,
                          "candidates": [c.as_json() for c in found],
                          "merge_order": compared.orders}, indent=2))
        return 0
    print(f"{group.base}: {group.task}")
    if not found:
        print("  no candidate left")
        return 0
    rows = [("candidate", "agent", "commits", "files", "+/-", "checks", "conflicts", "used",
             "took")]
    for c in found:
        checks = " ".join(f"{_MARK.get(str(r['status']), '?')}{r['name']}" for r in c.checks)
        used = ""
        if c.usage:
            tokens = int(c.usage.get("tokens_in") or 0) + int(c.usage.get("tokens_out") or 0)
            cost = c.usage.get("cost")
            used = f"{tokens} tok" + (f" ${float(cost):.2f}" if cost is not None else "")
        took = f"{c.seconds / 60:.1f} min" if c.seconds is not None else "-"
        rows.append((c.name, c.agent, str(c.commits), str(c.files), f"+{c.added} -{c.removed}",
                     checks or "-", "; ".join(c.conflicts) or "-", used or "-", took))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for c in found:
        if c.uncommitted:
            print(f"  {c.name}: {c.uncommitted} uncommitted change(s), not compared")
    passing = [c.name for c in found if c.checks and all(r["status"] == "pass" for r in c.checks)]
    if passing:
        print(f"  passing every check: {', '.join(passing)} (`agentdeck keep {passing[0]}`)")
    for order in compared.orders:
        print(f"  merge order with the others: {' → '.join(order)} (the one the others depend "
              "on least first)")
    return 0


_MARK = {"pass": "✔", "fail": "✖", "running": "…", "stale": "~"}


def cmd_keep(args: argparse.Namespace) -> int:
    from agentdeck.commands.workspaces import print_fleet_lines
    from agentdeck.core.engine.candidates import keep
    from agentdeck.daemon import lifecycle

    ctx = repo()
    fleet = fleet_of(ctx, args)
    engine_of(ctx, fleet)  # the registry squared with the disk first
    how = "squash" if args.squash else "no-ff" if args.no_ff else "merge"

    def say(agent: str, line: str) -> None:
        if line.startswith("warning: "):
            print_fleet_lines(agent, [line])
        elif line.startswith("error: "):
            print(f"agentdeck: error: {agent}: {line.removeprefix('error: ')}",
                  file=sys.stderr)
        else:
            print(f"{agent}: {line}")

    host = lifecycle.connect(ctx.state_dir)
    try:
        return keep(ctx, fleet, args.name, host, say, force=args.force, how=how,
                    into=args.into, cleanup=args.cleanup)
    finally:
        if host is not None:
            host.close()
