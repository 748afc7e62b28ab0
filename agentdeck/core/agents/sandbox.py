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

import contextlib
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from agentdeck.core.agents.refs import RefShadow
from agentdeck.core.agents.sessions.host import SessionSpec
from agentdeck.core.errors import OperationError
from agentdeck.core.files import private_dir
from agentdeck.core.fleet.kinds import SHELL_PROGRAMS
from agentdeck.core.fleet.options import SandboxSpec
from agentdeck.core.fleet.registry import AgentRecord

BWRAP = "bwrap"
# the user's secrets, in their home: not there at all for the agent
SECRET_DIRS = (".ssh", ".aws", ".gnupg", ".azure", ".kube", ".docker", ".password-store")
SECRET_FILES = (".netrc", ".git-credentials", ".npmrc", ".pypirc")
SECRETS = (*SECRET_DIRS, *SECRET_FILES)
SECRETS_NESTED = (".config/gh", ".config/gcloud", ".config/op", ".config/hub")  # read as empty
# what the agent CLIs write in the home (sessions, settings, history): a copy per agent
CLI_CONFIG = (".claude", ".claude.json", ".codex", ".gemini", ".qwen", ".copilot", ".aider")
CLI_CONFIG_NESTED = (".config/opencode", ".local/share/opencode", ".config/kilo")
# caches the agent's builds write (npm install, pip, uv, go build): its own, empty at first
OWN_CACHES = (".cache", ".npm")
# what reaches the user's session services, never handed to a sandboxed agent
SESSION_SOCKETS = ("SSH_AUTH_SOCK", "DBUS_SESSION_BUS_ADDRESS", "GNOME_KEYRING_CONTROL")
ENV_FILES = (".env", ".env.local", ".env.development.local")


def available() -> str | None:
    """None when bubblewrap can run here, else what to do about it."""
    if shutil.which(BWRAP) is None:
        return ("bubblewrap is not installed: `sudo apt install bubblewrap` (Debian, Ubuntu), "
                "`sudo dnf install bubblewrap` (Fedora)")
    return None


def wrap(spec: SessionSpec, sandbox: SandboxSpec, rec: AgentRecord, common_dir: Path,
         main_root: Path, others: Iterable[AgentRecord], state_dir: Path,
         home: Path | None = None, hook_socket: Path | None = None,
         visible: Iterable[Path] = (), refs: bool = True) -> SessionSpec:
    """`spec` with its command run inside the sandbox (unchanged when it is off).
    `hook_socket` is the one socket it may reach; `visible`, the files of the registry
    folder it reads (its hook settings, its brief). `refs` False: every ref read-only, not
    even its branch movable (an agent's checks, which judge a commit and make none; the
    agent's own shadow, which may hold a commit not yet carried out, is left alone)."""
    if not sandbox.on or spec.error or not spec.argv:
        return spec
    if sandbox.mode == "seatbelt":
        return _seatbelt(spec, sandbox, rec, common_dir, main_root, others, state_dir)
    why = available()
    if why is not None:
        raise OperationError(f"{rec.name} is to run sandboxed, but {why}")
    # the agent's home: the one its environment names (a fleet may give it one), else the user's
    home = home or Path(spec.env.get("HOME") or Path.home())
    own = state_dir / "sandbox" / rec.name
    # a pid namespace of its own: its /proc shows only its processes (and an unprivileged
    # bubblewrap can mount a /proc only so), and a stop that kills the namespace's first
    # process ends every process in it, daemonized ones included. No --die-with-parent: that
    # ties the sandbox to the *thread* that started it (PR_SET_PDEATHSIG), and the session
    # host's threads come and go; its lifetime is the session's, like any agent's
    argv = [BWRAP, "--unshare-pid", "--ro-bind", "/", "/",
            "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    # the user's session services are sockets a read-only mount does not stop: the session
    # bus (systemd-run --user would run anything outside), the keyring, the ssh agent, docker
    for path in (Path(f"/run/user/{os.getuid()}"),):
        if path.is_dir():
            argv += ["--tmpfs", str(path)]
    for path in (Path("/var/run/docker.sock"), Path("/run/docker.sock")):
        if path.exists():
            argv += ["--ro-bind", "/dev/null", str(path)]
    # what a fresh /tmp would hide but the agent needs to see, read-only: the folders under
    # /tmp its repository (and the worktrees beside it), its program and its home are in (a
    # checkout kept under /tmp, a CI's clone). Not the sockets' folder: only the hook's socket
    tmp = Path(tempfile.gettempdir())
    program = shutil.which(spec.argv[0], path=spec.env.get("PATH")) or spec.argv[0]
    needed = (main_root.parent, state_dir, Path(program).resolve(), home,
              *_named_paths(spec.argv))
    kept = sorted({tmp / p.relative_to(tmp).parts[0] for p in needed
                   if p.is_absolute() and p.is_relative_to(tmp) and p != tmp})
    for path in kept:
        if path.exists() and path.name != f"agentdeck-{os.getuid()}":
            argv += ["--ro-bind", str(path), str(path)]
    argv += _home(home, own / "home")  # (before the worktree: a repository may be in the home)
    shadow = RefShadow(rec.name, rec.branch, common_dir, own / "git") if refs else None
    argv += _writable(rec, common_dir, shadow)
    for other in others:  # another agent's work is not this one's to read or write
        if other.name != rec.name and not other.in_main and Path(other.worktree).is_dir():
            argv += ["--tmpfs", other.worktree, "--remount-ro", other.worktree]
    for name in ENV_FILES:  # the main checkout's secrets
        if (main_root / name).is_file():
            argv += ["--ro-bind", "/dev/null", str(main_root / name)]
    argv += _registry(state_dir, hook_socket, visible)
    if not sandbox.network:
        argv += ["--unshare-net"]
    argv += ["--chdir", spec.cwd, "--", *spec.argv]
    env = {k: v for k, v in spec.env.items() if k not in SESSION_SOCKETS}
    env.update(TMPDIR="/tmp", AGENTDECK_SANDBOX="bwrap")
    if shadow is None:
        return replace(spec, argv=tuple(argv), env=env)
    return replace(spec, argv=tuple(argv), env=env,
                   shadow={"name": rec.name, "branch": rec.branch,
                           "common_dir": str(common_dir), "root": str(shadow.root)})


def _named_paths(argv: Sequence[str]) -> list[Path]:
    """The absolute paths a command names: its words, and a shell's `-c` script's (a check
    is `sh -c RUN`: the program RUN names may be a virtualenv's under /tmp)."""
    words = list(argv)
    if len(argv) >= 3 and Path(argv[0]).name in SHELL_PROGRAMS and argv[1] == "-c":
        with contextlib.suppress(ValueError):  # (unbalanced quotes: the shell will say)
            words += shlex.split(argv[2])
    return [Path(word) for word in words if word.startswith("/")]


def _registry(state_dir: Path, hook_socket: Path | None, visible: Iterable[Path]) -> list[str]:
    """The registry folder is not the agent's to read: every transcript, the audit log, the
    session host's control socket (which answers prompts) and the other agents' homes are
    there. It sees an empty folder, with only its own files and the hook's socket put back;
    the sockets' short-path folder under the temp dir is not mounted at all."""
    out = ["--tmpfs", str(state_dir)]
    for path in [*visible, *([hook_socket] if hook_socket is not None else [])]:
        if path.exists():
            out += ["--ro-bind", str(path), str(path)]
    return [*out, "--remount-ro", str(state_dir)]  # (after the binds: they make their files)


def _writable(rec: AgentRecord, common_dir: Path, shadow: RefShadow | None) -> list[str]:
    """Its worktree, the object store and its worktree's admin folder writable; the refs and
    reflogs its own view (core/agents/refs.py), so that only its branch moves outside."""
    worktree = Path(rec.worktree)
    admin = common_dir if rec.in_main else _admin_dir(worktree, common_dir)
    # a lead in the main checkout writes git's own files there (HEAD, index, …): the common
    # folder is its admin folder
    paths = [worktree, common_dir] if rec.in_main else [worktree, common_dir / "objects", admin]
    out: list[str] = []
    for path in paths:
        if path.exists():
            out += ["--bind", str(path), str(path)]
    if shadow is not None:
        out += shadow.prepare()
    # …but never what makes git run a program, points it at another repository or names
    # refs: git runs in these folders outside the sandbox too (the radar, the review, the
    # user). Made (empty) where missing, so there is something read-only to mount: a
    # packed-refs or config.worktree the agent wrote would be read outside
    fixed = [common_dir / "config", common_dir / "hooks", admin / "commondir", admin / "gitdir",
             admin / "config.worktree"]
    if rec.in_main:
        fixed += [common_dir / "packed-refs", common_dir / "info", common_dir / "worktrees",
                  common_dir / "modules", common_dir / "shallow"]
    for path in fixed:
        if path.name in ("packed-refs", "config.worktree") and not path.exists():
            path.touch(mode=0o644)
        if path.exists():
            out += ["--ro-bind", str(path), str(path)]
    if (worktree / ".git").is_file():
        out += ["--ro-bind", str(worktree / ".git"), str(worktree / ".git")]
    return out


def _admin_dir(worktree: Path, common_dir: Path) -> Path:
    """The worktree's folder under .git/worktrees, as its .git file names it (git numbers a
    name taken twice: api1), else by its name."""
    try:
        line = (worktree / ".git").read_text().strip()
    except OSError:
        return common_dir / "worktrees" / worktree.name
    path = Path(line.removeprefix("gitdir:").strip())
    return path if path.is_absolute() else (worktree / path).resolve()


def _home(home: Path, own: Path) -> list[str]:
    """The agent's home: a folder of its own, writable (what it writes at the top of its home
    stays there, a CLI's atomic renames included), where every entry of the user's home is
    mounted read-only — but the secret stores, which are empty read-only folders (or empty
    files) there, and the agent CLIs' config, which is a copy of the user's made once (so it
    is signed in), then its own."""
    private_dir(own)
    out = ["--bind", str(own), str(home)]
    for entry in sorted(home.iterdir()) if home.is_dir() else []:
        name = entry.name
        if name in SECRETS or name in OWN_CACHES or not entry.exists():  # (a dangling link:
            continue  # bubblewrap refuses to mount it)
        if name in CLI_CONFIG:
            _copy_once(entry, own / name)
            continue
        out += ["--ro-bind", str(entry), str(home / name)]
    for name in SECRET_DIRS:  # empty and read-only: nothing to read, nothing planted there
        out += ["--tmpfs", str(home / name), "--remount-ro", str(home / name)]
    for name in SECRET_FILES:
        if (home / name).exists():
            out += ["--ro-bind", "/dev/null", str(home / name)]
    for rel in SECRETS_NESTED:
        if (home / rel).is_dir():
            out += ["--tmpfs", str(home / rel), "--remount-ro", str(home / rel)]
        elif (home / rel).is_file():
            out += ["--ro-bind", "/dev/null", str(home / rel)]
    for rel in CLI_CONFIG_NESTED:
        if (home / rel).exists():
            _copy_once(home / rel, own / rel)
            out += ["--bind", str(own / rel), str(home / rel)]
    return out


def _copy_once(real: Path, copy: Path) -> None:
    if copy.exists() or copy.is_symlink():
        return
    private_dir(copy.parent)  # (the user's alone)
    if real.is_dir():
        shutil.copytree(real, copy, symlinks=True, ignore_dangling_symlinks=True)
    else:
        shutil.copy2(real, copy, follow_symlinks=False)


# -- macOS: the same rules through sandbox-exec (Seatbelt) ------------------------------------
# Unverified: no macOS machine runs the tests; the profile is built from Apple's SBPL as
# sandbox-exec documents it. Differences from bubblewrap: nothing is mounted, so the CLIs'
# config copies are reached through their own variables (CLAUDE_CONFIG_DIR, CODEX_HOME), and
# without network the machine's loopback (not a private one) stays reachable.
SEATBELT = "/usr/bin/sandbox-exec"
CONFIG_VARS = {".claude": "CLAUDE_CONFIG_DIR", ".codex": "CODEX_HOME"}


def _seatbelt(spec: SessionSpec, sandbox: SandboxSpec, rec: AgentRecord, common_dir: Path,
              main_root: Path, others: Iterable[AgentRecord], state_dir: Path) -> SessionSpec:
    if sys.platform != "darwin" or not Path(SEATBELT).exists():
        raise OperationError(f"{rec.name} is to run sandboxed with seatbelt (macOS "
                             "sandbox-exec), which this machine does not have; on Linux use "
                             "sandbox: bwrap")
    home = Path(spec.env.get("HOME") or Path.home())
    own = state_dir / "sandbox" / rec.name / "home"
    env = dict(spec.env)
    for name, var in CONFIG_VARS.items():
        if (home / name).is_dir():
            _copy_once(home / name, own / name)
        private_dir(own / name)
        env[var] = str(own / name)
    profile = seatbelt_profile(rec, common_dir, main_root, others, home, own, sandbox.network)
    env["AGENTDECK_SANDBOX"] = "seatbelt"
    return replace(spec, argv=(SEATBELT, "-p", profile, *spec.argv), env=env)


def seatbelt_profile(rec: AgentRecord, common_dir: Path, main_root: Path,
                     others: Iterable[AgentRecord], home: Path, own: Path,
                     network: bool) -> str:
    """The SBPL profile: everything readable and nothing writable, but for what bubblewrap
    leaves writable; the secret stores and the other agents' work unreadable too."""
    writable = [Path(rec.worktree), common_dir / "objects", common_dir / "refs",
                common_dir / "logs", common_dir / "worktrees" / Path(rec.worktree).name, own,
                Path("/private/tmp"), Path("/private/var/folders"), Path("/dev")]
    hidden = [home / name for name in (*SECRET_DIRS, *SECRET_FILES, *SECRETS_NESTED)]
    hidden += [Path(o.worktree) for o in others if o.name != rec.name and not o.in_main]
    hidden += [main_root / name for name in ENV_FILES]
    lines = ["(version 1)", "(allow default)", "(deny file-write*)",
             "(allow file-write* " + " ".join(f"(subpath {_sbpl(p)})" for p in writable) + ")",
             "(deny file-read* file-write* " + " ".join(f"(subpath {_sbpl(p)})"
                                                         for p in hidden) + ")"]
    if not network:
        lines += ["(deny network*)", '(allow network* (remote ip "localhost:*"))',
                  '(allow network* (local ip "localhost:*"))', "(allow network* (remote unix))"]
    return "\n".join(lines)


def _sbpl(path: Path) -> str:
    """A path as an SBPL string literal (its quotes and backslashes escaped)."""
    text = str(path).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
