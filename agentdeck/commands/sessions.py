"""`agentdeck stop` and `restart`, and what the session host says of each agent (`ls`).

Stopping ends the agent's whole process tree (dev servers and watchers it started included),
politely first; it frees nothing else: worktree, branch, port and database stay, and `start` or
`restart` brings the agent back where it was (its CLI's resume command, if the fleet names one).
"""

from __future__ import annotations

from agentdeck.core.config import Fleet
from agentdeck.core.errors import OperationError, UsageError
from agentdeck.core.hostlock import hosting_dashboard
from agentdeck.core.registry import Registry
from agentdeck.core.repo import RepoContext
from agentdeck.core.sessions import RUNNING, state_label

GRACE = 5.0  # seconds an agent's processes get to end before they are killed


def live_states(ctx: RepoContext) -> dict[str, str]:
    """The state of each agent the session host runs or ran ("working", "exited (1)", …);
    "in dashboard PID" for agents a dashboard hosts itself; empty when nothing runs them."""
    from agentdeck.daemon import lifecycle

    host = lifecycle.connect(ctx.state_dir)
    if host is None:
        dashboard = hosting_dashboard(ctx.state_dir)
        if dashboard is not None:  # the demo, --no-daemon
            label = f"in dashboard {dashboard}"
            return {name: label for name in Registry(ctx.state_dir).load().agents}
        return {}
    try:
        return {info.name: state_label(info) for info in host.sessions()}
    finally:
        host.close()


def _known(ctx: RepoContext, names: list[str]) -> None:
    agents = Registry(ctx.state_dir).load().agents
    unknown = [n for n in names if n not in agents]
    if unknown:
        raise UsageError(f"no agent named {', '.join(unknown)} (`agentdeck ls` lists them)")


def cmd_stop(ctx: RepoContext, names: list[str]) -> int:
    from agentdeck.daemon import lifecycle

    _known(ctx, names)
    host = lifecycle.connect(ctx.state_dir)
    if host is None:
        dashboard = hosting_dashboard(ctx.state_dir)
        if dashboard is not None:
            raise OperationError(f"the agents run inside a dashboard (pid {dashboard}:"
                                 " the demo, or --no-daemon); stop them there with X")
        print("no session host runs, so no agent is running")
        return 0
    try:
        running = {i.name for i in host.sessions() if i.process == RUNNING}
        for name in names:
            if name not in running:
                print(f"{name}: not running")
                continue
            host.stop(name, GRACE)
            print(f"{name}: stopped (its worktree, branch, port and database stay; "
                  f"`agentdeck start {name}` starts it again)")
    finally:
        host.close()
    return 0


def cmd_restart(ctx: RepoContext, fleet: Fleet, names: list[str]) -> int:
    from agentdeck.core.deck import Deck
    from agentdeck.daemon import lifecycle
    from agentdeck.daemon.client import RemoteQueue

    _known(ctx, names)
    host = lifecycle.ensure(ctx.state_dir, fleet.path)
    deck = Deck.attach(ctx, fleet, host, RemoteQueue(host))
    try:
        records = {r.name: r for r in deck.records}
        sessions = {i.name: i for i in host.sessions()}
        for name in names:
            rec = records.get(name)
            if rec is None:
                raise OperationError(f"{name} has no workspace: `agentdeck up {name}` makes it")
            ran = name in sessions
            if ran and sessions[name].process == RUNNING:
                host.stop(name, GRACE)
            deck.start(rec, resume=ran)
            print(f"{name}: restarted" if ran else f"{name}: started")
    finally:
        deck.close()
    return 0
