"""`agentdeck up`, `ls`, `spawn`, `rm` and `prune`: each agent's workspace (worktree, branch,
port, env files, database) made, listed, added, removed and tidied."""

from __future__ import annotations

import argparse
import sys

from agentdeck.commands import sessions
from agentdeck.commands.context import (
    daemon_runs,
    engine_of,
    fleet_of,
    interactive,
    repo,
)
from agentdeck.commands.listing import live_states
from agentdeck.core.engine.engine import Engine, UpResult
from agentdeck.core.errors import AgentdeckError, UsageError
from agentdeck.core.fleet.kinds import acp_template
from agentdeck.core.fleet.schema import load_fleet
from agentdeck.core.fleet.spec import Fleet
from agentdeck.core.git.repo import RepoContext
from agentdeck.core.names import NAME_RE
from agentdeck.progress import failure_report, fleet_table

NOT_STARTED = ("agents not started (--no-start, or no terminal to show them in): run `agentdeck` "
               "to open the dashboard, which starts every agent in its own pane")


def report_up(engine: Engine, result: UpResult, started: bool = False,
              starts_in_host: bool = False) -> int:
    """What `up` (or `spawn`) made, failed to make or found already there, as a table;
    `starts_in_host`: the session host starts them next (no dashboard needed)."""
    if result.already:
        print(f"already there: {', '.join(result.already)}")
    for line in failure_report(result.setups):
        print(line, file=sys.stderr)
    print()
    print(fleet_table(engine.views(live_states(engine.ctx))))
    print()
    if not starts_in_host and not (started and interactive()):
        print(NOT_STARTED)
    for name, reason in result.failed.items():
        print(f"agentdeck: error: {name}: {reason}", file=sys.stderr)
    return result.exit_code


def cmd_up(args: argparse.Namespace) -> int:
    from agentdeck.commands.dashboard import open_dashboard
    from agentdeck.commands.on_hosts import run_there, split

    ctx = repo()
    fleet = fleet_of(ctx, args, required=True)
    here, there = split(fleet, args.names)
    status = 0
    for host, names in there.items():  # made there, by that host's agentdeck
        print(f"on {host}:")
        status = run_there(fleet, fleet.hosts[host], ["up", "--no-start", *names]) or status
    engine = engine_of(ctx, fleet)
    if here or not there:
        status = report_up(engine, engine.up(here), started=not args.no_start) or status
    if args.no_start or not interactive() or status:
        return status
    return open_dashboard(ctx, fleet, args.theme, daemon=not args.no_daemon, restart=True)


def cmd_spawn(args: argparse.Namespace) -> int:
    ctx = repo()
    fleet = fleet_of(ctx, args)
    if not NAME_RE.match(args.name):
        raise UsageError(f"agent name '{args.name}' may use letters, digits, '.', '_' and '-', "
                         "starting with a letter or digit")
    if args.agent and args.agent not in fleet.commands:
        raise UsageError(f"unknown agent kind '{args.agent}'; known: "
                         f"{', '.join(fleet.commands)} (add others under 'commands:')")
    issue = None
    if args.task_file is not None:
        try:
            args.task = args.task_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--task-file {args.task_file}: {exc}") from None
        if not args.task:
            raise UsageError(f"--task-file {args.task_file} is empty")
    elif args.issue is not None:
        from agentdeck.core.git import github

        where, number = github.issue_ref(ctx, args.issue)
        issue = github.issue(where, number)
        args.task = github.issue_task(issue)
    engine = engine_of(ctx, fleet)
    declared = fleet.agent(args.name)
    if declared is not None and not any((args.branch, args.base, args.agent, args.task,
                                         args.model, args.role, args.channel)):
        spec = declared  # `spawn NAME` of an agent the fleet file describes: use its entry
    else:
        spec = fleet.spec_for(args.name, args.branch or f"agentdeck/{args.name}", base=args.base,
                              agent=args.agent, task=args.task, model=args.model, role=args.role,
                              channel=args.channel)
    if spec.channel == "acp" and acp_template(spec.agent, fleet.commands) is None:
        raise UsageError(f"agent kind '{spec.agent}' has no ACP mode agentdeck knows; use "
                         f"--channel pty, or give commands.{spec.agent} a command that speaks "
                         "ACP")
    result = engine.spawn(spec)
    if issue is not None and spec.name not in result.failed:  # `pr` links it
        from agentdeck.core.git.github import Links

        Links(ctx.state_dir).update(spec.name, issue=issue.get("number"),
                                    issue_url=issue.get("url"), repo=where.spec)
        print(f"{spec.name}: its task is issue #{issue.get('number')}: {issue.get('title')}")
    # with a session host running, the new agent starts there (a dashboard may be open on it)
    host_runs = daemon_runs(ctx)
    status = report_up(engine, result, started=host_runs, starts_in_host=host_runs)
    if status or spec.name in result.already:
        return status
    if declared is None and not args.no_save and fleet.path is not None:
        from agentdeck.core.fleet.edits import add_to_fleet_file

        try:
            add_to_fleet_file(fleet.path, spec)
            print(f"{spec.name}: added to {fleet.path}")
        except AgentdeckError as exc:
            print(f"agentdeck: warning: {spec.name} was made but not added to the fleet file: "
                  f"{exc}", file=sys.stderr)
    if host_runs:
        status = sessions.start(ctx, load_fleet(fleet.path) if fleet.path else fleet,
                                [spec.name])
    return status


def cmd_rm(args: argparse.Namespace) -> int:
    """Remove an agent; one that runs in the session host is stopped first (its process tree),
    but only once the removal is sure to go ahead: work that would be lost refuses it without
    --force, and with --force every file and commit discarded is printed before it goes."""
    from agentdeck.commands.on_hosts import flags, forward
    from agentdeck.core.engine.removal import retire, would_lose
    from agentdeck.core.fleet.edits import forget_in_fleet
    from agentdeck.daemon import lifecycle

    ctx = repo()
    fleet = fleet_of(ctx, args)
    there = forward(fleet, args.name, ["rm", args.name,
                                       *flags(args, "force", "delete_branch", "drop_db")])
    if there is not None:  # removed there; this fleet file is the one to take it out of
        if there == 0:
            print_fleet_lines(args.name, forget_in_fleet(fleet, args.name, args.keep_in_fleet))
        return there
    engine_of(ctx, fleet)  # the registry squared with the disk first
    host = lifecycle.connect(ctx.state_dir)
    try:
        if args.force:
            for what, items in would_lose(ctx, args.name, args.delete_branch):
                print(f"{args.name}: --force discards {what}:")
                for item in items:
                    print(f"  {item}")
        out = retire(ctx, fleet, args.name, host, force=args.force,
                     delete_branch=args.delete_branch, drop_db=args.drop_db)
    finally:
        if host is not None:
            host.close()
    for line in (*out.done, *out.left):
        print(f"{args.name}: {line}")
    print_fleet_lines(args.name, forget_in_fleet(fleet, args.name, args.keep_in_fleet))
    return 0


def _merged_on_github(ctx: RepoContext, fleet: Fleet, said: list[str]) -> list[str]:
    """Agents whose pull request was merged on GitHub (`agentdeck pr`): removed, their branch
    too when what it holds was pushed; what was not (uncommitted work) keeps an agent."""
    from agentdeck.core.engine.removal import retire
    from agentdeck.core.fleet.registry import Registry
    from agentdeck.core.git import worktrees as wt
    from agentdeck.core.git.github import merged_pulls
    from agentdeck.daemon import lifecycle

    agents = Registry(ctx.state_dir).load().agents
    merged = merged_pulls(ctx.state_dir, {n: r.branch for n, r in agents.items()
                                          if not r.in_main and not r.host})
    if not merged:
        return []
    host = lifecycle.connect(ctx.state_dir)
    gone = []
    try:
        for name, url in merged.items():
            branch = agents[name].branch
            pushed = ctx.git_ok("merge-base", "--is-ancestor", f"refs/heads/{branch}",
                                f"refs/remotes/origin/{branch}")
            try:
                out = retire(ctx, fleet, name, host, drop_db=True)
            except AgentdeckError as exc:
                said.append(f"{name}: its pull request was merged ({url}), but it stays: {exc}")
                continue
            if pushed and wt.worktree_of_branch(ctx, branch) is None:
                wt.delete_branch(ctx, branch)
                out.done.append(f"deleted branch {branch} (merged on GitHub)")
                out.left = [line for line in out.left if not line.startswith("branch ")]
            said.append(f"{name}: its pull request was merged ({url}); "
                        + "; ".join([*out.done, *out.left]))
            gone.append(name)
    finally:
        if host is not None:
            host.close()
    return gone


def print_fleet_lines(name: str, lines: list[str]) -> None:
    for line in lines:
        if line.startswith("warning: "):
            print(f"agentdeck: warning: {name}: {line.removeprefix('warning: ')}",
                  file=sys.stderr)
        else:
            print(f"{name}: {line}")


def cmd_prune(args: argparse.Namespace) -> int:
    from agentdeck.core.engine.removal import prune
    from agentdeck.core.fleet.edits import forget_in_fleet
    from agentdeck.daemon import lifecycle

    ctx = repo()
    fleet = fleet_of(ctx, args)  # (read first: a fleet file that does not load stops it here)
    report = prune(ctx)
    host = lifecycle.connect(ctx.state_dir)
    if host is not None:  # an agent whose worktree is gone has nowhere to work: its session ends
        try:
            known = {i.name for i in host.sessions()}
            for name in report.names:
                if name in known:
                    host.forget(name)
                    report.notes.append(f"{name}: its session in the session host was stopped")
        finally:
            host.close()
    report.names += _merged_on_github(ctx, fleet, report.removed)
    for line in report.removed + report.notes:
        print(line)
    # as `rm` does: a forgotten agent leaves the fleet file, or the next `agentdeck` makes it
    # again
    for name in report.names:
        print_fleet_lines(name, forget_in_fleet(fleet, name))
    if not report.removed and not report.notes:
        print("nothing to prune: every agent's worktree is there")
    return 0
