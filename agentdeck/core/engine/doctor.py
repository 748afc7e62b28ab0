"""`agentdeck doctor`: what this machine has for agentdeck, and what to install for the rest."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path

from agentdeck.core.agents.programs import absent, command_program, find_program
from agentdeck.core.errors import EXTRAS, AgentdeckError, extra_problem, install_line
from agentdeck.core.fleet.kinds import BUILTIN_COMMANDS, CLIS
from agentdeck.core.fleet.spec import Fleet
from agentdeck.core.git.repo import GIT_MIN_VERSION, git_version


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = False
    how: str = "install"  # what the fix is: "install: …", or "fix: …" in the user's own files


def find_pg_binary(name: str) -> str | None:
    """PostgreSQL server tools live outside PATH on Debian (/usr/lib/postgresql/N/bin)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    candidates += glob.glob(f"/usr/local/pgsql/bin/{name}") + glob.glob(
        f"/opt/homebrew/opt/postgresql*/bin/{name}")
    return candidates[-1] if candidates else None


def _version(argv: list[str]) -> str | None:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if out.returncode == 0 and text else None


def run_checks(fleet: Fleet | None = None, root: Path | None = None) -> list[Check]:
    """This machine's checks; with a `fleet`, its agent kinds as its `commands:` start them
    (a relative command looked for under `root`, the main worktree)."""
    fleet_path = fleet.path if fleet is not None else None
    checks = [_git_check()]
    psql = shutil.which("psql")
    checks.append(Check("postgres client", psql is not None,
                        _version([psql, "--version"]) or "" if psql else "psql not found",
                        "apt-get install postgresql-client (or brew install libpq)"))
    server = find_pg_binary("postgres")
    checks.append(Check("postgres server", server is not None,
                        (_version([server, "--version"]) or server) if server else
                        "postgres/initdb not found",
                        "apt-get install postgresql (or brew install postgresql) — needed "
                        "for database modes postgres-db / postgres-schema on this machine"))
    checks.append(_docker_check())
    bwrap = shutil.which("bwrap")
    checks.append(Check("sandbox (bubblewrap)", bwrap is not None,
                        (_version([bwrap, "--version"]) or bwrap) if bwrap else
                        "bwrap not found — needed only for agents with sandbox: bwrap",
                        "apt-get install bubblewrap (or dnf install bubblewrap); on macOS "
                        "use sandbox: seatbelt (sandbox-exec, built in; unverified)"))
    checks += [_extra_check(extra) for extra in EXTRAS]
    commands = _fleet_commands(fleet)
    for kind in CLIS.values():
        # verified: agentdeck's end-to-end scenario ran that version; unverified: its prompts
        # are read from what its source prints, not yet seen on a real screen
        proven = (f"verified with {kind.verified}" if kind.verified
                  else f"unverified: {kind.why_unverified}")
        checks.append(_agent_check(kind.name, commands.pop(kind.name, kind.executable), root,
                                   proven, kind.install or ""))
    checks.append(_acp_check(checks))
    for name, program in commands.items():  # the fleet's own kinds
        checks.append(replace(_agent_check(name, program, root, "", (
            f"commands.{name} in {fleet_path}: install the program, or point it at the right "
            "one (a relative path is found from the agent's worktree)")), how="fix"))
    return checks


def _acp_check(checks: list[Check]) -> Check:
    """Which installed CLIs offer the ACP channel (`channel: acp`; the command each runs in
    that mode is the kinds registry's): Claude Code and Codex when their adapter's program is
    installed, the others when the CLI is."""
    found = {c.name.removeprefix("agent: ") for c in checks if c.ok}
    offered = [kind.name for kind in CLIS.values() if kind.acp and (
        shutil.which(command_program(kind.acp)) is not None if kind.adapter
        else kind.name in found)]
    sdk = extra_problem("acp")
    speaking = ", ".join(kind.name for kind in CLIS.values() if kind.acp)
    detail = ("installed CLIs that speak ACP: " + ", ".join(offered) if offered
              else f"no installed CLI speaks ACP ({speaking} do)")
    if sdk is not None:
        detail += "; the ACP SDK is not installed"
    adapters = " ".join(kind.adapter for kind in CLIS.values() if kind.adapter)
    return Check("ACP agents", bool(offered) and sdk is None, detail,
                 install_line("acp") if sdk is not None else
                 f"install one of {speaking}; Claude Code and Codex through their adapters: "
                 f"npm install -g {adapters}")


def _fleet_commands(fleet: Fleet | None) -> dict[str, str]:
    """The program of each agent kind whose command the fleet sets itself (a path to a
    binary, a script of the repository's, a kind of its own)."""
    if fleet is None:
        return {}
    return {kind: command_program(template) for kind, template in fleet.commands.items()
            if template != BUILTIN_COMMANDS.get(kind) and command_program(template)}


def _agent_check(name: str, program: str, root: Path | None, proven: str, fix: str) -> Check:
    """An agent kind's program: on PATH, at its path, or — relative — in the worktrees (the
    main worktree stands in for them: the agents' branches start from its history)."""
    relative = os.sep in program and not os.path.isabs(program)
    path = find_program(program, root or Path.cwd())
    where = " (found from each agent's worktree; checked in the main one)" if relative else ""
    # (only a known CLI is asked its version: a kind of the fleet's own may be any program)
    version = f" ({_version([path, '--version']) or 'version unknown'})" if (
        path and name in CLIS) else ""
    found = f"{path}{version}{where}" if path else absent(program, root or Path.cwd())
    return Check(f"agent: {name}", path is not None, "; ".join(x for x in (found, proven) if x),
                 fix)


def _extra_check(extra: str) -> Check:
    """An optional part of agentdeck (a pip extra): there, or the line that installs it."""
    spec = EXTRAS[extra]
    problem = extra_problem(extra)
    if problem is None:
        try:
            version = f"{spec.package} {metadata.version(spec.package)}"
        except metadata.PackageNotFoundError:  # importable without its metadata (a checkout)
            version = spec.package
        return Check(f"extra: {extra}", True, version)
    state = f"cannot be loaded ({problem})" if problem else "not installed"
    return Check(f"extra: {extra}", False, f"{spec.package} {state} — needed only for "
                 f"{spec.needed_by}", install_line(extra))


def _git_check() -> Check:
    fix = "install git 2.38 or newer (apt-get install git / brew install git)"
    try:
        version = git_version()
    except AgentdeckError as exc:
        return Check("git", False, str(exc), fix, required=True)
    text = ".".join(map(str, version))
    ok = version[:2] >= GIT_MIN_VERSION
    return Check("git", ok, f"git {text}" + ("" if ok else " (too old: needs 2.38+)"), fix,
                 required=True)


def _docker_check() -> Check:
    docker = shutil.which("docker")
    if docker is None:
        return Check("docker engine", False, "docker not installed",
                     "install Docker Engine or Docker Desktop — only for database mode compose")
    try:
        out = subprocess.run([docker, "version", "--format", "{{.Server.Version}}"],
                             capture_output=True, text=True, timeout=5,
                             env={**os.environ, "DOCKER_CLI_HINTS": "false"})
        server = out.stdout.strip() if out.returncode == 0 else ""
    except subprocess.TimeoutExpired:
        server = ""
    if server:
        return Check("docker engine", True, f"engine {server}")
    return Check("docker engine", False, "docker client present, engine not answering",
                 "start the Docker daemon (systemctl start docker) — only for database mode "
                 "compose")
