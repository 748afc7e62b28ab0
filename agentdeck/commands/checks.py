"""`agentdeck checks`: run the fleet's checks in agents' worktrees now, or (`--last`) say what
they said last; `--json` for scripts. Exit 1 when any failed."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agentdeck.commands.context import fleet_of, repo
from agentdeck.core.errors import UsageError
from agentdeck.core.fleet.registry import AgentRecord
from agentdeck.core.git.repo import RepoContext

SHOWN_LINES = 15  # of a failing check's output, printed under it


def local_agents(ctx: RepoContext, names: list[str]) -> list[AgentRecord]:
    """This repository's agents (made and on disk), the named ones when names are given."""
    from agentdeck.core.agents.roster import ready_records

    records = ready_records(ctx.state_dir)
    known = {r.name for r in records}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"no agent named {', '.join(unknown)} (`agentdeck ls` lists them)")
    return [r for r in records if not names or r.name in names]


def results_json(ctx: RepoContext, recs: list[AgentRecord]) -> dict[str, list[dict[str, Any]]]:
    from agentdeck.core.engine import check_results

    return check_results.results_json(ctx.state_dir, ctx.common_dir,
                                      {r.name: r.branch for r in recs})


def cmd_checks(args: argparse.Namespace) -> int:
    from agentdeck.core.engine.check_results import FAIL, CheckResult
    from agentdeck.core.engine.checks import checks_of, run_checks

    ctx = repo()
    fleet = fleet_of(ctx, args)
    recs = local_agents(ctx, args.names)
    if not fleet.checks and not any(a.checks for a in fleet.agents):
        raise UsageError("the fleet file has no checks: add e.g. `checks: [{name: tests, run: "
                         "\"pytest -q\"}]` (docs/configuration.md)")
    unknown = [c for c in args.check if not any(c in {k.name for k in fleet.checks_for(r.name)}
                                               for r in recs)]
    if unknown:
        raise UsageError(f"no check named {', '.join(unknown)} in the fleet file")
    if not args.last:
        def heard(name: str, result: CheckResult) -> None:
            if args.json:
                return
            print(f"{name}: {result.name}: {result.status} ({result.seconds:.1f} s, "
                  f"{result.commit[:10] or 'no commit'})", flush=True)
            if result.status == FAIL:
                for line in result.output_tail.rstrip().splitlines()[-SHOWN_LINES:]:
                    print(f"    {line}")

        todo = [r for r in recs if checks_of(fleet, r, args.check)]
        if not todo and not args.json:
            print("no agent has those checks")
        all_records = local_agents(ctx, [])
        run_checks(ctx, fleet, todo, all_records, args.check, heard)
    found = results_json(ctx, recs)
    if args.check:
        found = {a: [r for r in rs if r["name"] in args.check] for a, rs in found.items()}
    if args.json:
        print(json.dumps(found, indent=2))
    elif args.last:
        for agent, results in found.items():
            said = ", ".join(f"{r['name']} {r['status']}" for r in results) or "not run yet"
            print(f"{agent}: {said}")
    failed = any(r["status"] == FAIL for rs in found.values() for r in rs)
    if failed and not args.json:
        print("agentdeck: some checks failed (f in the dashboard sends the output to the "
              "agent)", file=sys.stderr)
    return 1 if failed else 0
