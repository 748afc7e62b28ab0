"""Agents on other machines, reached through the transport every developer already has: OpenSSH,
with the user's keys, agent, ssh config and ControlMaster. The same agentdeck runs there, in the
host's clone of the repository (its engine makes the worktrees, ports and databases; its session
host runs the agents); this side only runs `ssh HOST agentdeck -C REPO …` — no open port, no
new protocol.

Safety: the destination is one argument of ssh, after `--` (never part of a shell string). The
command ssh hands the remote shell is one string; every word of it is quoted here.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from agentdeck.core.errors import OperationError, UsageError
from agentdeck.core.fleet.options import HostSpec
from agentdeck.core.fleet.spec import Fleet

if TYPE_CHECKING:
    from agentdeck.core.git.repo import RepoContext
    from agentdeck.core.git.review import Radar

SSH = "ssh"
# no password prompt that nobody sees (a dashboard, a thread); an unreachable host given up
# after 15 s, a dead link noticed in ~15 s
SSH_OPTIONS = ("-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15",
               "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3")
FLEET_FILE = "remote-fleet.yaml"  # the fleet as a host's agentdeck last received it


def remote_command(host: HostSpec, args: Sequence[str]) -> str:
    """The one string the remote shell runs: `agentdeck -C REPO --fleet-stdin ARGS`, quoted.
    A leading `~/` of the agentdeck command stays the remote user's home."""
    program, *rest = shlex.split(host.agentdeck)
    return " ".join([_home_quoted(program), *map(shlex.quote, rest), "-C",
                     _home_quoted(host.repo), "--fleet-stdin", *map(shlex.quote, args)])


def _home_quoted(word: str) -> str:
    """Quoted for the remote shell, a leading `~/` left for it to expand to the home."""
    return "~/" + shlex.quote(word[2:]) if word.startswith("~/") else shlex.quote(word)


def ssh_argv(host: HostSpec, args: Sequence[str]) -> list[str]:
    return [SSH, *host.ssh_options, *SSH_OPTIONS, "--", host.ssh, remote_command(host, args)]


def fleet_for(fleet: Fleet, host: str) -> bytes:
    """The fleet file as `host`'s agentdeck reads it: its agents only, without `hosts` and
    `host` (there, they are local). ${VAR}s stay as written: they take the host's values."""
    import yaml

    if fleet.path is None:
        raise UsageError(f"agents on host {host} need a fleet file naming it under 'hosts'")
    raw: dict[str, Any] = yaml.safe_load(fleet.path.read_text(encoding="utf-8")) or {}
    raw.pop("hosts", None)
    defaults = raw.get("defaults") or {}
    default_host = defaults.pop("host", None) if isinstance(defaults, dict) else None
    agents = []
    for entry in raw.get("agents") or []:
        if (entry.pop("host", default_host) or None) == host:
            agents.append(entry)
    raw["agents"] = agents
    return yaml.safe_dump(raw, sort_keys=False, allow_unicode=True).encode()


def framed(blob: bytes) -> bytes:
    """What `--fleet-stdin` reads: the length on a line, then the bytes (the rest of stdin
    stays the command's own: the session host's frames, for `daemon attach --stdio`)."""
    return b"%d\n" % len(blob) + blob


def read_framed(stream: IO[bytes]) -> bytes:
    line = stream.readline(32)
    try:
        size = int(line)
    except ValueError:
        raise UsageError("--fleet-stdin: stdin does not start with the fleet's length") from None
    blob = stream.read(size)
    if len(blob) != size:
        raise UsageError("--fleet-stdin: the fleet on stdin was cut short")
    return blob


def host_of(fleet: Fleet, name: str) -> HostSpec | None:
    """The host an agent of the fleet runs on; None: this machine."""
    spec = fleet.agent(name)
    return fleet.hosts[spec.host] if spec is not None and spec.host else None


def hosts_in_use(fleet: Fleet) -> list[HostSpec]:
    names = sorted({a.host for a in fleet.agents if a.host})
    return [fleet.hosts[n] for n in names]


def run(fleet: Fleet, host: HostSpec, args: Sequence[str], capture: bool = True,
        timeout: float | None = None) -> subprocess.CompletedProcess[bytes]:
    """`agentdeck ARGS` on `host`, in its clone, with the fleet as that host reads it. With
    `capture` the output comes back; else it goes to this terminal as it comes."""
    argv = ssh_argv(host, args)
    data = framed(fleet_for(fleet, host.name))
    try:
        if capture:
            return subprocess.run(argv, input=data, capture_output=True, timeout=timeout,
                                  check=False)
        return subprocess.run(argv, input=data, stdout=sys.stdout.buffer,
                              stderr=subprocess.PIPE, timeout=timeout, check=False)
    except FileNotFoundError:
        raise OperationError("ssh is not installed here (the OpenSSH client reaches other "
                             "hosts)") from None
    except subprocess.TimeoutExpired:
        raise OperationError(f"host {host.name}: no answer from `ssh {host.ssh}` in "
                             f"{timeout:g} s") from None


SSH_FAILED = 255  # ssh's own exit status: it could not connect (or was cut off)


def failure(host: HostSpec, result: subprocess.CompletedProcess[bytes]) -> str:
    """One line: why a command on `host` failed (ssh's reason, or the remote agentdeck's)."""
    lines = (result.stderr or b"").decode("utf-8", "replace").strip().splitlines()
    last = lines[-1].removeprefix("agentdeck: error: ") if lines else f"exit {result.returncode}"
    if result.returncode == SSH_FAILED:
        return f"host {host.name}: cannot reach it through `ssh {host.ssh}`: {last}"
    if result.returncode == 127 or "command not found" in last or "No such file" in last:
        return (f"host {host.name}: agentdeck is not installed there ({last}); install it, or "
                f"set hosts.{host.name}.agentdeck to its path")
    return f"host {host.name}: {last}"


def check(fleet: Fleet, host: HostSpec, args: Sequence[str],
          timeout: float | None = None) -> str:
    """Run on `host` and return its output; a failure is an OperationError saying why."""
    result = run(fleet, host, args, timeout=timeout)
    if result.returncode != 0:
        raise OperationError(failure(host, result))
    return result.stdout.decode("utf-8", "replace")


def save_received_fleet(state_dir: Path, blob: bytes) -> Path:
    """The remote side of `--fleet-stdin`: the fleet the dashboard's machine sent, kept where
    this host's session host reads it again (a restart, a resumed agent)."""
    from agentdeck.core.files import private_dir, write_private

    private_dir(state_dir)
    path = state_dir / FLEET_FILE
    write_private(path, blob.decode("utf-8"))
    return path


# -- the review of another host's agent: its git runs there ------------------------------------
def diff_there(fleet: Fleet, host: str, name: str, uncommitted: bool) -> str:
    return check(fleet, fleet.hosts[host], ["diff", name, *(["--uncommitted"] if uncommitted
                                                             else [])], timeout=120)


def radar_there(fleet: Fleet, host: str) -> Radar:
    """The conflict radar among that host's agents, computed there."""
    from agentdeck.core.git.review import Pair, Radar

    result = run(fleet, fleet.hosts[host], ["conflicts", "--json"], timeout=120)
    if result.returncode not in (0, 1):  # (1: some pair conflicts)
        raise OperationError(failure(fleet.hosts[host], result))
    data = json.loads(result.stdout or b"{}")
    return Radar([Pair(**p) for p in data.get("pairs", [])], dict(data.get("scope", {})))


def merge_there(fleet: Fleet, host: str, name: str) -> str:
    """Merge the agent's branch there, as `agentdeck merge` does; what it said."""
    return check(fleet, fleet.hosts[host], ["merge", name], timeout=300).strip()


def remove_there(fleet: Fleet, host: str, name: str) -> str:
    """The review's cleanup there (refused, nothing removed, while work would be lost)."""
    return check(fleet, fleet.hosts[host], ["rm", name, "--delete-branch", "--drop-db"],
                 timeout=300).strip()


def fetch_branches(ctx: RepoContext, fleet: Fleet, host: str, branches: Sequence[str]) -> None:
    """Fetch the branches of `host`'s agents into refs/agentdeck/hosts/HOST/… here, so the
    conflict radar compares them with this machine's agents (same origin: shared history).
    git runs ssh itself, with the host's ssh options; the destination is git's argument."""
    if not branches:
        return
    spec = fleet.hosts[host]
    command = " ".join(shlex.quote(word) for word in (SSH, *spec.ssh_options, "-o",
                                                      "BatchMode=yes"))
    refspecs = [f"+refs/heads/{b}:refs/agentdeck/hosts/{host}/{b}" for b in branches]
    ctx.git("fetch", "--no-tags", "--quiet", f"{spec.ssh}:{spec.repo}", *refspecs,
            env={"GIT_SSH_COMMAND": command})
