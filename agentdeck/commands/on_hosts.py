"""The engine commands for agents on other hosts (fleet `hosts`): each runs as the same command
of that host's agentdeck, through ssh (core/agents/remote.py), its output passed through; the fleet
file here stays the one the user edits (`rm` and `merge --cleanup` take the agent out of it
here, not only in the host's copy)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from agentdeck.core.agents import remote
from agentdeck.core.errors import OperationError
from agentdeck.core.fleet.options import HostSpec
from agentdeck.core.fleet.spec import Fleet


def split(fleet: Fleet, names: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """`names` (or, empty, every agent of the fleet) as (this machine's, {host: theirs})."""
    local: list[str] = []
    there: dict[str, list[str]] = {}
    for name in names or [a.name for a in fleet.agents]:
        spec = fleet.agent(name)
        if spec is not None and spec.host:
            there.setdefault(spec.host, []).append(name)
        else:
            local.append(name)
    return local, there


def run_there(fleet: Fleet, host: HostSpec, args: Sequence[str]) -> int:
    """`agentdeck ARGS` on `host`, its output here as it comes; its exit status (a failure
    said in one line)."""
    result = remote.run(fleet, host, args, capture=False)
    if result.returncode != 0:
        print(f"agentdeck: error: {remote.failure(host, result)}", file=sys.stderr)
    return result.returncode if result.returncode != remote.SSH_FAILED else 1


def forward(fleet: Fleet, name: str, args: Sequence[str]) -> int | None:
    """Run `args` on the host of agent `name`; None when it is this machine's."""
    host = remote.host_of(fleet, name)
    return None if host is None else run_there(fleet, host, args)


def flags(args: argparse.Namespace, *names: str) -> list[str]:
    """The boolean options given, as they are spelt on the command line."""
    return [f"--{n.replace('_', '-')}" for n in names if getattr(args, n, False)]


def listing(fleet: Fleet, as_json: bool) -> list[dict[str, object]]:
    """Every host's `ls` (each agent with its host), for `agentdeck ls`; printed as it comes
    when not `as_json`."""
    rows: list[dict[str, object]] = []
    for host in remote.hosts_in_use(fleet):
        try:
            out = remote.check(fleet, host, ["ls", "--json"], timeout=30)
        except OperationError as exc:
            print(f"agentdeck: error: {exc}", file=sys.stderr)
            continue
        there = [{**row, "host": host.name} for row in json.loads(out or "[]")]
        rows.extend(there)
        if not as_json:
            print(f"\non {host.name} ({host.ssh}:{host.repo}):")
            for row in there:
                print(f"  {row.get('name', ''):<16} {row.get('state', '') or '-':<14} "
                      f"{row.get('branch', '')}  {row.get('worktree', '')}")
    return rows


def fleet_with_hosts(path: Path) -> Fleet | None:
    """The fleet file, when its agents run on other hosts."""
    from agentdeck.core.fleet.schema import load_fleet

    fleet = load_fleet(path)
    return fleet if remote.hosts_in_use(fleet) else None
