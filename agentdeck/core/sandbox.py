"""A sandbox per agent, on by choice (`sandbox: {mode: bwrap, network: false}` in the fleet):
on Linux through bubblewrap, the agent's command runs with the whole filesystem read-only but
for what its work needs —

- its own worktree, and the git data its branch needs to commit (the objects, the refs and
  logs, its worktree's own folder under .git/worktrees);
- its own temp folder (/tmp is a fresh one), and a per-agent copy of the config folders its CLI
  writes (~/.claude, ~/.codex, …: copied once from the user's, so it is signed in, then its own);
- nothing of the user's secret stores (~/.ssh, ~/.aws, ~/.config/gh, ~/.gnupg, ~/.netrc and
  the like read as empty), nor of the other agents' worktrees (each is an empty folder to it,
  their .env.local included), nor the main checkout's env files;
- with `network: false`, no network but its own loopback.

The approvals queue still sees it (its screen is the PTY's; its hook reaches the session host's
socket, which stays reachable read-only). The session host starts `bwrap … -- argv` instead of
argv: the sandbox is the agent's process tree's root, stopped with it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from agentdeck.core.config import SandboxSpec
from agentdeck.core.errors import OperationError
from agentdeck.core.files import private_dir
from agentdeck.core.registry import AgentRecord
from agentdeck.core.sessions.host import SessionSpec

BWRAP = "bwrap"
# the user's secrets: folders read as empty, files as /dev/null
SECRET_DIRS = (".ssh", ".aws", ".gnupg", ".config/gh", ".config/gcloud", ".azure", ".kube",
               ".docker", ".password-store", ".config/op")
SECRET_FILES = (".netrc", ".git-credentials", ".npmrc", ".pypirc", ".config/hub")
# where the agent CLIs keep what they write (sessions, settings, history): a copy per agent
CLI_CONFIG = (".claude", ".claude.json", ".codex", ".gemini", ".qwen", ".copilot",
              ".config/opencode", ".local/share/opencode", ".config/kilo", ".aider",
              ".aider.chat.history.md", ".cache/aider")
ENV_FILES = (".env", ".env.local", ".env.development.local")


def available() -> str | None:
    """None when bubblewrap can run here, else what to do about it."""
    if shutil.which(BWRAP) is None:
        return ("bubblewrap is not installed: `sudo apt install bubblewrap` (Debian, Ubuntu), "
                "`sudo dnf install bubblewrap` (Fedora)")
    return None


def wrap(spec: SessionSpec, sandbox: SandboxSpec, rec: AgentRecord, common_dir: Path,
         main_root: Path, others: Iterable[AgentRecord], state_dir: Path,
         home: Path | None = None) -> SessionSpec:
    """`spec` with its command run inside the sandbox (unchanged when it is off)."""
    if not sandbox.on or spec.error or not spec.argv:
        return spec
    why = available()
    if why is not None:
        raise OperationError(f"{rec.name} is to run sandboxed, but {why}")
    home = home or Path.home()
    own = state_dir / "sandbox" / rec.name
    argv = [BWRAP, "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev",
            "--proc", "/proc", "--tmpfs", "/tmp"]
    # what a fresh /tmp would hide but the agent needs to see: a repository kept under /tmp
    # (and its agents' worktrees beside it), the registry, the session host's sockets
    tmp = Path(tempfile.gettempdir())
    for path in (main_root.parent, state_dir, tmp / f"agentdeck-{os.getuid()}"):
        if path.is_relative_to(tmp) and path != tmp and path.exists():
            argv += ["--ro-bind", str(path), str(path)]
    argv += _writable(rec, common_dir)
    for other in others:  # another agent's work is not this one's to read or write
        if other.name != rec.name and not other.in_main and Path(other.worktree).is_dir():
            argv += ["--tmpfs", other.worktree, "--remount-ro", other.worktree]
    for name in ENV_FILES:  # the main checkout's secrets
        if (main_root / name).is_file():
            argv += ["--ro-bind", "/dev/null", str(main_root / name)]
    argv += _home(home, own)
    if not sandbox.network:
        argv += ["--unshare-net"]
    argv += ["--chdir", spec.cwd, "--", *spec.argv]
    env = {**spec.env, "TMPDIR": "/tmp", "AGENTDECK_SANDBOX": "bwrap"}
    return replace(spec, argv=tuple(argv), env=env)


def _writable(rec: AgentRecord, common_dir: Path) -> list[str]:
    paths = [Path(rec.worktree)]
    # committing on its branch: new objects, its ref (and reflog), its worktree's HEAD/index
    paths += [common_dir / "objects", common_dir / "refs", common_dir / "logs",
              common_dir / "worktrees" / Path(rec.worktree).name]
    if rec.in_main:  # a lead working in the main checkout writes git's own files there
        paths = [Path(rec.worktree), common_dir]
    out: list[str] = []
    for path in paths:
        if path.exists():
            out += ["--bind", str(path), str(path)]
    return out


def _home(home: Path, own: Path) -> list[str]:
    out: list[str] = []
    for rel in SECRET_DIRS:
        if (home / rel).is_dir():
            out += ["--tmpfs", str(home / rel), "--remount-ro", str(home / rel)]
    for rel in SECRET_FILES:
        if (home / rel).is_file():
            out += ["--ro-bind", "/dev/null", str(home / rel)]
    for rel in CLI_CONFIG:
        real, copy = home / rel, own / "home" / rel
        if not real.exists():
            continue
        if not copy.exists():  # once: signed in as the user is, then the agent's own
            private_dir(copy.parent)
            if real.is_dir():
                shutil.copytree(real, copy, symlinks=True, ignore_dangling_symlinks=True)
            else:
                shutil.copy2(real, copy)
        out += ["--bind", str(copy), str(real)]
    return out


