"""The repository agentdeck works on: where its main worktree and common git dir are, and the
one way agentdeck runs git (`RepoContext.run`, and `run_git` before a repository exists)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from agentdeck.core.errors import OperationError, UsageError
from agentdeck.core.files import open_private, tighten

STATE_DIR = "agentdeck"  # agentdeck's folder under the git common dir

GIT_MIN_VERSION = (2, 38)  # `git merge-tree --write-tree`, used for conflict prediction


def git_version(executable: str = "git") -> tuple[int, ...]:
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, text=True,
                             check=True).stdout
    except FileNotFoundError:
        raise UsageError("git is not installed; install git 2.38 or newer") from None
    except subprocess.CalledProcessError as exc:
        raise OperationError(f"'git --version' failed: {exc.stderr.strip()}") from None
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
    if not match:
        raise OperationError(f"cannot read the git version from {out.strip()!r}")
    return tuple(int(p) for p in match.groups() if p is not None)


def require_git() -> tuple[int, ...]:
    version = git_version()
    if version[:2] < GIT_MIN_VERSION:
        have = ".".join(map(str, version))
        raise UsageError(f"git {have} is too old; agentdeck needs git 2.38 or newer "
                         "(for merge-tree --write-tree) — upgrade git")
    return version


@dataclass
class RepoContext:
    """A repository seen from any of its worktrees."""

    main_root: Path  # the main worktree
    common_dir: Path  # $(git rev-parse --git-common-dir), absolute

    @property
    def name(self) -> str:
        return self.main_root.name

    @cached_property
    def state_dir(self) -> Path:
        return self.common_dir / STATE_DIR

    def git(self, *args: str, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> str:
        """Run git and return stdout (without its last newline); a failure becomes an
        OperationError with git's message. `env` adds to the environment (a temporary index,
        an identity)."""
        result = self.run(*args, cwd=cwd, env=env)
        if result.returncode != 0:
            message = (result.stderr or result.stdout).strip()
            raise OperationError(f"git {args[0]} failed: {_first_line(message)}")
        return result.stdout.removesuffix("\n")

    def run(self, *args: str, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """git as it ran, exit status and all; for commands whose status is an answer."""
        return run_git(cwd or self.main_root, *args, env=env)

    def git_try(self, *args: str, cwd: Path | None = None) -> str | None:
        """stdout when git exits 0, else None; for questions (check-ignore, show-ref)."""
        result = self.run(*args, cwd=cwd)
        return result.stdout if result.returncode == 0 else None

    def git_ok(self, *args: str, cwd: Path | None = None) -> bool:
        return self.git_try(*args, cwd=cwd) is not None


@contextlib.contextmanager
def registrations_lock(state_dir: Path, shared: bool = False) -> Iterator[None]:
    """Every change to `.git/worktrees` (add, remove, prune, repair, discard) holds this lock
    exclusively, and whatever reads every registration (listing, deleting a branch) holds it
    shared: git dies on a registration another git is half-way through writing or deleting
    ("failed to read …/commondir"). Across threads and processes; not re-entrant."""
    # a file object of its own per call: flock then excludes threads of this process too
    with open_private(state_dir / "worktrees.lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def run_git(cwd: Path, *args: str,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The one place agentdeck starts git. Never on a terminal's stdin (a credential prompt
    would hang a thread); paths that are not UTF-8 survive the round trip (surrogateescape)."""
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              encoding="utf-8", errors="surrogateescape",
                              stdin=subprocess.DEVNULL,
                              env={**os.environ, **env} if env else None)
    except FileNotFoundError as exc:
        if not Path(cwd).is_dir():
            raise OperationError(f"{cwd}: no such folder") from None
        raise UsageError("git is not installed; install git 2.38 or newer") from exc


def open_repo(start: Path) -> RepoContext:
    require_git()
    found = run_git(start, "rev-parse", "--path-format=absolute", "--git-common-dir",
                    "--is-bare-repository", "--is-inside-work-tree")
    if found.returncode != 0:
        raise UsageError(f"{start} is not inside a git repository; run agentdeck in your "
                         "project's clone")
    common_text, bare, inside = found.stdout.splitlines()[:3]
    if bare == "true" or inside != "true":
        raise UsageError(f"{start} is a bare repository (or inside its git folder); run "
                         "agentdeck in a worktree of it")
    common = Path(common_text)
    with contextlib.suppress(OSError):
        tighten(common / STATE_DIR)  # what an older version or another umask left readable
    with registrations_lock(common / STATE_DIR, shared=True):
        porcelain = run_git(start, "worktree", "list", "--porcelain").stdout
    first = porcelain.splitlines()[0] if porcelain else ""
    if first.startswith("worktree "):
        main_root = Path(first.removeprefix("worktree "))
    else:
        main_root = Path(run_git(start, "rev-parse", "--show-toplevel").stdout.strip())
    if run_git(main_root, "rev-parse", "--verify", "--quiet", "HEAD").returncode != 0 and \
            run_git(start, "rev-parse", "--verify", "--quiet", "HEAD").returncode != 0:
        raise UsageError(f"{main_root} has no commits yet; make a first commit, then run agentdeck")
    return RepoContext(main_root=main_root, common_dir=common)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[0] if lines else "(no message)"
