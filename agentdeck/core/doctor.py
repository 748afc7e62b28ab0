"""`agentdeck doctor`: what this machine has for agentdeck, and what to install for the rest."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass

from agentdeck.core.agent_kinds import KINDS
from agentdeck.core.errors import AgentdeckError
from agentdeck.core.repo import GIT_MIN_VERSION, git_version


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = False


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
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if out.returncode == 0 and text else None


def run_checks() -> list[Check]:
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
    for kind in KINDS.values():
        path = shutil.which(kind.executable)
        # verified: agentdeck's end-to-end scenario ran that version; unverified: its prompts
        # are read from what its source prints, not yet seen on a real screen
        proven = (f"verified with {kind.verified}" if kind.verified
                  else f"unverified: {kind.why_unverified}")
        found = (f"{path} ({_version([kind.executable, '--version']) or 'version unknown'})"
                 if path else f"{kind.executable} not on PATH")
        checks.append(Check(f"agent: {kind.name}", path is not None, f"{found}; {proven}",
                            kind.install))
    return checks


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
