"""Which agents' work changed, from filesystem events (inotify, FSEvents… through watchfiles),
so the conflict radar looks again only then — never on a timer. Watched: each worker's
worktree (not the folders the tools regenerate: .git, node_modules, caches) and the repository's
refs (a commit moves a branch; a fetch or a merge moves a base). An event in a worktree names
that agent; a ref names the agent on that branch, or every agent when it is a base. Events come
in bursts (an edit, a build): each burst is reported once, after it settles."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Self

from agentdeck.core.fleet.registry import AgentRecord
from agentdeck.core.git.repo import RepoContext

SETTLE_MS = 800  # a burst of events is over when none came for this long
IGNORED_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv", ".mypy_cache",
                ".pytest_cache", ".ruff_cache", ".tox", ".hypothesis", ".next", ".turbo",
                ".cache", "target", "dist", "build", ".gradle", ".idea"}
ALL = None  # reported instead of names: every agent's work may look different now


def affected(changes: Iterable[str], records: list[AgentRecord],
             common_dir: Path) -> set[str] | None:
    """The agents a set of changed paths concerns; ALL when a ref that is not an agent's own
    branch moved (a base branch, a fetch)."""
    names: set[str] = set()
    refs = common_dir / "refs"
    workers = [r for r in records if not r.in_main]
    for raw in changes:
        path = Path(raw)
        if path == common_dir / "packed-refs" or refs in path.parents:
            branch = "/".join(path.relative_to(refs).parts[1:]) if refs in path.parents else ""
            owner = [r.name for r in workers if r.branch == branch]
            if not owner:
                return ALL
            names.update(owner)
            continue
        for rec in workers:
            if Path(rec.worktree) in path.parents or Path(rec.worktree) == path:
                names.add(rec.name)
    return names


# what the system says when inotify has no watches or instances left (watchfiles passes on the
# kernel's words: EMFILE from inotify_init, ENOSPC from inotify_add_watch)
_OUT_OF_WATCHES = ("os error 24", "os error 28", "too many open files",
                   "no space left on device", "watch limit")
WATCHES, INSTANCES = 524288, 1024  # what editors and file watchers commonly ask for


def watch_advice(error: str) -> str:
    """What to do about a watch that could not be set up: for inotify's limits, how to raise
    them now and for good; "" for anything else."""
    if not any(sign in error.lower() for sign in _OUT_OF_WATCHES):
        return ""
    limits = (f"fs.inotify.max_user_watches={WATCHES}",
              f"fs.inotify.max_user_instances={INSTANCES}")
    return (f"inotify's watches ran out: `sudo sysctl {' '.join(limits)}` raises them now; the "
            f"lines {' and '.join(limits)} in /etc/sysctl.d/60-inotify.conf keep them raised")


def _wanted(path: str, common_dir: Path) -> bool:
    parts = Path(path).parts
    if Path(path).is_relative_to(common_dir):  # under the git dir: only the refs
        return "refs" in parts or path.endswith("packed-refs")
    return not IGNORED_DIRS.intersection(parts) and not path.endswith(("~", ".swp", ".swx"))


class _Watcher:
    """A watchfiles loop on a thread of its own; `stop()` ends it."""

    debounce_ms = SETTLE_MS
    step_ms = 200
    recursive = True

    def __init__(self, on_error: Callable[[str], None] = lambda _error: None) -> None:
        self.on_error = on_error
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="agentdeck-watch", daemon=True)

    def start(self) -> Self:
        # imported here, before the thread starts: an import running on a thread of its own
        # while the event loop imports too can stall both (the dashboard in a browser drew
        # nothing about one time in two)
        import watchfiles  # noqa: F401

        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _paths(self) -> list[Path]:
        raise NotImplementedError

    def _wanted(self, path: str) -> bool:
        raise NotImplementedError

    def _changed(self, paths: list[str]) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        from watchfiles import watch  # (imported by start(), on the caller's thread)

        try:
            for changes in watch(*self._paths(), watch_filter=lambda _c, p: self._wanted(p),
                                 debounce=self.debounce_ms, step=self.step_ms,
                                 stop_event=self._stop, recursive=self.recursive,
                                 raise_interrupt=False, ignore_permission_denied=True):
                self._changed([path for _, path in changes])
        except (OSError, RuntimeError) as exc:
            # a watch the system cannot set up (inotify limits)
            if not self._stop.is_set():
                self.on_error(str(exc))


class ChangeWatcher(_Watcher):
    """Calls `on_change(names or ALL)` from a thread of its own for every settled burst of
    events in the agents' worktrees and the refs. If the watch cannot be set up, `on_error`
    says why (the radar still looks when an agent stops working)."""

    def __init__(self, ctx: RepoContext, records: list[AgentRecord],
                 on_change: Callable[[set[str] | None], None],
                 on_error: Callable[[str], None] = lambda _error: None) -> None:
        super().__init__(on_error)
        self.ctx, self.records, self.on_change = ctx, list(records), on_change

    def _paths(self) -> list[Path]:
        common = self.ctx.common_dir
        paths = [Path(r.worktree) for r in self.records
                 if not r.in_main and Path(r.worktree).is_dir()]
        paths.append(common / "refs")
        if (common / "packed-refs").exists():
            paths.append(common / "packed-refs")
        return paths

    def _wanted(self, path: str) -> bool:
        return _wanted(path, self.ctx.common_dir)

    def _changed(self, paths: list[str]) -> None:
        names = affected(paths, self.records, self.ctx.common_dir)
        if names is ALL or names:
            self.on_change(names)


class FileWatcher(_Watcher):
    """Calls `on_change()` from a thread of its own soon after a file is written — replaced
    whole, as agentdeck writes its files, so its folder (not its subfolders) is watched. The
    registry: an agent made or removed by any client shows in every other within a second."""

    debounce_ms = 400
    step_ms = 50
    recursive = False

    def __init__(self, path: Path, on_change: Callable[[], None],
                 on_error: Callable[[str], None] = lambda _error: None) -> None:
        super().__init__(on_error)
        self.path, self.on_change = path, on_change

    def _paths(self) -> list[Path]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return [self.path.parent]

    def _wanted(self, path: str) -> bool:
        return Path(path).name == self.path.name

    def _changed(self, paths: list[str]) -> None:
        self.on_change()
