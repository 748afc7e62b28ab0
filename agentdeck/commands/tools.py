"""Commands that need no repository: `doctor` (what this machine has), `detect` (what a screen
says) and `hook` (what an agent CLI's permission hook runs)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from agentdeck.core.errors import UsageError

if TYPE_CHECKING:
    from agentdeck.core.fleet.spec import Fleet


def cmd_doctor(args: argparse.Namespace) -> int:
    from agentdeck.core.engine.doctor import run_checks

    if args.host is not None:
        return doctor_host(args)
    checks = run_checks(*_fleet_here(args))
    pad = max(len(c.name) for c in checks)
    for check in checks:
        mark = "ok " if check.ok else ("ERR" if check.required else " - ")
        line = f"{mark} {check.name.ljust(pad)}  {check.detail}"
        if not check.ok and check.fix:
            line += f"\n    {' ' * pad}  {check.how}: {check.fix}"
        print(line)
    return 1 if any(c.required and not c.ok for c in checks) else 0


def _fleet_here(args: argparse.Namespace) -> tuple[Fleet | None, Path | None]:
    """The fleet of the repository doctor runs in (its `commands:` are checked as they start
    the agents) and its main worktree; none outside a repository or without a fleet file."""
    from agentdeck.commands.context import fleet_of, repo
    from agentdeck.core.errors import AgentdeckError

    try:
        ctx = repo()
    except AgentdeckError:
        if args.file or args.top_file:
            raise
        return None, None
    fleet = fleet_of(ctx, args)  # (a broken fleet file is said as such: exit 2)
    return (fleet if fleet.path is not None else None), ctx.main_root


def doctor_host(args: argparse.Namespace) -> int:
    """`doctor --host H`: reachable through ssh, the same agentdeck there, then its checks."""
    from agentdeck import __version__
    from agentdeck.commands.context import fleet_of, repo
    from agentdeck.core.agents import remote
    from agentdeck.core.errors import OperationError

    fleet = fleet_of(repo(), args, required=True)
    host = fleet.hosts.get(args.host)
    if host is None:
        known = ", ".join(fleet.hosts) or "none: add them under 'hosts:'"
        raise UsageError(f"no host '{args.host}' in {fleet.path} (hosts: {known})")
    version = remote.check(fleet, host, ["--version"], timeout=60).strip()
    print(f"ok  ssh {host.ssh}: reachable; {version} in {host.repo}")
    if version != f"agentdeck {__version__}":
        raise OperationError(
            f"host {host.name} runs {version}, this is agentdeck {__version__}: install the "
            f"same version there (pip install 'agentdeck=={__version__}'), then `agentdeck "
            f"daemon restart` there if one runs")
    print(f"--- {host.name}'s own checks:", flush=True)
    result = remote.run(fleet, host, ["doctor"], capture=False)
    return 0 if result.returncode == 0 else 1


def cmd_detect(args: argparse.Namespace) -> int:
    from agentdeck.core.screen.detect import DETECTORS, detect
    from agentdeck.core.screen.terminal import make_emulator

    if args.agent is not None and args.agent not in DETECTORS:
        raise UsageError(f"unknown agent '{args.agent}' for detect; known: "
                         f"{', '.join(DETECTORS)}")
    try:
        data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    cols, cursor_row, wrapped = args.cols, None, None
    if args.raw:
        cols = cols or 120
        emulator = make_emulator(cols, args.rows, 1000)
        emulator.feed(data)
        lines, cursor_row = emulator.lines(), emulator.cursor()[1]
        wrapped = emulator.wrapped_rows()
    else:
        lines = data.decode("utf-8", "replace").splitlines()
    found = detect(lines, args.agent, cursor_row, cols, wrapped)
    print(json.dumps(found.as_json(), ensure_ascii=False))
    return 0


def cmd_hook(args: argparse.Namespace) -> int:
    from agentdeck.hook_client import main as hook_main

    return hook_main(args.rest)
