"""A sandboxed agent's view of the repository's refs: it moves its own branch and nothing else.

Git writes a ref by creating `<ref>.lock` beside it and renaming it over the ref, so a ref can
only be writable if its whole folder is — and `refs/heads` holds `main` and every other agent's
branch. So inside the sandbox the real `refs` (and `logs`) are not mounted at all: the agent
gets a folder of its own there (its *shadow*), a copy of the real loose refs, read by git
together with the real, live `packed-refs` (read-only). Whatever the agent's git writes lands in
the shadow. A broker outside the sandbox (this module, in the session host) carries exactly one
thing out — the agent's own branch, with `git update-ref` after checking that the commit is in
the shared object store — and mirrors every other ref in, so `main` moved by the user is seen
inside. A ref the agent forges in its shadow (`main`, another agent's branch, a tag) changes
its own view only, and is overwritten by the next mirror.

The branch's reflog is the real one, bound writable (git appends to it); other reflogs inside
the sandbox are the agent's own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

from agentdeck.core.files import atomic_write, private_dir
from agentdeck.core.git.repo import run_git

log = logging.getLogger(__name__)
_SHA = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")


def read_ref(refs_parent: Path, refname: str, packed: Path | None = None) -> str | None:
    """The object a ref names, from its loose file under `refs_parent` (the folder holding
    `refs/`), else from `packed` (a packed-refs file); None when it is neither (or not a plain
    object name: a symbolic ref is nobody's branch)."""
    try:
        text = (refs_parent / refname).read_text().strip()
    except (OSError, UnicodeDecodeError):
        text = ""
    if text:
        return text if _SHA.fullmatch(text) else None
    if packed is None:
        return None
    try:
        lines = packed.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        sha, _, name = line.partition(" ")
        if name == refname and _SHA.fullmatch(sha):
            return sha
    return None


def _loose(root: Path) -> Iterator[str]:
    """The loose refs under `root/refs` (paths relative to `root`), lock files skipped."""
    for folder, _dirs, names in os.walk(root / "refs"):
        for name in names:
            if not name.endswith(".lock") and not name.startswith("."):  # (a write underway)
                yield str((Path(folder) / name).relative_to(root))


class RefShadow:
    """One sandboxed agent's refs: `prepare()` makes the shadow and says how to mount it,
    `sync()` carries the agent's branch out and everything else in (safe to call any time,
    from any thread)."""

    def __init__(self, name: str, branch: str, common_dir: Path, root: Path) -> None:
        self.name = name
        self.ref = f"refs/heads/{branch}"
        self.common_dir = common_dir
        self.root = root  # holds refs/ and logs/ as the agent sees them
        # the branch's value both sides last agreed on
        self._synced: str | None = read_ref(common_dir, self.ref, self.packed)
        self._lock = threading.Lock()

    @property
    def packed(self) -> Path:
        return self.common_dir / "packed-refs"

    def prepare(self) -> list[str]:
        """A fresh shadow (the real loose refs), and the bubblewrap arguments that mount it
        over the real `refs` and `logs`, the branch's own reflog bound through."""
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.root)
        private_dir(self.root / "refs")
        private_dir(self.root / "logs")
        for rel in _loose(self.common_dir):
            self._put(rel, (self.common_dir / rel).read_bytes())
        self._synced = read_ref(self.common_dir, self.ref, self.packed)
        # the real reflog, made when missing so there is a file to bind (git appends to it)
        reflog = self.common_dir / "logs" / self.ref
        reflog.parent.mkdir(parents=True, exist_ok=True)
        if not reflog.exists():
            reflog.touch(mode=0o644)
        inside = self.root / "logs" / self.ref
        inside.parent.mkdir(parents=True, exist_ok=True)
        inside.touch()
        return ["--bind", str(self.root / "refs"), str(self.common_dir / "refs"),
                "--bind", str(self.root / "logs"), str(self.common_dir / "logs"),
                "--bind", str(reflog), str(self.common_dir / "logs" / self.ref)]

    def _put(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        try:
            if path.read_bytes() == data:
                return
        except OSError:
            pass
        atomic_write(path, data.decode(errors="replace"), mode=0o644, fsync=False)

    def sync(self) -> str | None:
        """Carry the agent's branch out (when it moved it) and mirror every other ref in.
        Returns the commit the branch was moved to outside, or None."""
        with self._lock:
            moved = self._carry_out()
            self._mirror_in()
            return moved

    def _carry_out(self) -> str | None:
        if not self.root.is_dir():
            return None
        mine = read_ref(self.root, self.ref)  # (loose only: packed-refs is the real one)
        real = read_ref(self.common_dir, self.ref, self.packed)
        if mine is None or mine == self._synced:
            if real != self._synced:  # moved outside (the user's reset, a merge into it)
                self._synced = real
                if real is not None:
                    self._put(self.ref, f"{real}\n".encode())
            return None
        if mine == real:
            self._synced = real
            return None
        # the agent committed: its commit must be a commit in the shared store before any
        # real ref names it (an agent can write a ref file naming anything)
        check = run_git(self.common_dir, "cat-file", "-e", f"{mine}^{{commit}}")
        if check.returncode != 0:
            log.warning("%s: its branch names %s, not a commit; not carried out", self.name,
                        mine)
            return None
        update = run_git(self.common_dir, "update-ref", "-m",
                         f"agentdeck: {self.name} (sandboxed) moved its branch", self.ref, mine,
                         real or "0" * len(mine))
        if update.returncode != 0:
            log.warning("%s: its branch was not carried out: %s", self.name,
                        update.stderr.strip())
            return None
        self._synced = mine
        return mine

    def _mirror_in(self) -> None:
        real = set(_loose(self.common_dir))
        for rel in real:
            if rel == self.ref:
                continue
            with contextlib.suppress(OSError):
                self._put(rel, (self.common_dir / rel).read_bytes())
        for rel in list(_loose(self.root)):
            if rel != self.ref and rel not in real:
                with contextlib.suppress(OSError):
                    (self.root / rel).unlink()


class RefBroker:
    """The session host's broker for every sandboxed agent: one thread watching the real refs
    and each shadow (file events, no timer), syncing what changed."""

    def __init__(self, common_dir: Path) -> None:
        self.common_dir = common_dir
        self._shadows: dict[str, RefShadow] = {}
        self._lock = threading.Lock()
        self._changed = threading.Event()  # the set of shadows changed: watch anew
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, shadow: RefShadow) -> None:
        with self._lock:
            self._shadows[shadow.name] = shadow
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, daemon=True,
                                                name="agentdeck-refs")
                self._thread.start()
        self._changed.set()

    def remove(self, name: str) -> None:
        """The agent stopped: carry out what it left, then stop watching it."""
        with self._lock:
            shadow = self._shadows.pop(name, None)
        if shadow is not None:
            shadow.sync()
        self._changed.set()

    def sync_all(self) -> None:
        with self._lock:
            shadows = list(self._shadows.values())
        for shadow in shadows:
            try:
                shadow.sync()
            except OSError as exc:  # (a shadow removed under it: the next add makes it anew)
                log.warning("%s: refs not synced: %s", shadow.name, exc)

    def close(self) -> None:
        self._closed.set()
        self._changed.set()
        self.sync_all()

    def _watch(self) -> None:
        import watchfiles

        while not self._closed.is_set():
            self._changed.clear()
            with self._lock:
                paths = [self.common_dir / "refs", *(s.root / "refs"
                                                      for s in self._shadows.values())]
            # (packed-refs is not watched: it is replaced, not written, and what packs or
            # deletes refs also changes the loose ones)
            paths = [p for p in paths if p.exists()]
            self.sync_all()  # (what changed since the last look, at once; the first yield
            # below looks again once the watch is set up)
            settled = False
            try:
                for changes in watchfiles.watch(*paths, stop_event=_Either(self._changed,
                                                                         self._closed),
                                                # (the default filter drops every path
                                                # in a .git folder: all of these are)
                                                watch_filter=None, debounce=150, step=100,
                                                rust_timeout=1000, yield_on_timeout=True,
                                                raise_interrupt=False):
                    # the first (empty) yield comes once the watch is set up: a commit made
                    # while it was being set up raised no event, this look carries it out
                    if changes or not settled:
                        settled = True
                        self.sync_all()
            except (OSError, RuntimeError) as exc:  # watches ran out: look at stops only
                log.warning("the sandboxed agents' refs are synced only when they stop: %s",
                            exc)
                self._closed.wait()


class _Either:
    """An Event-like that is set when either of two events is (watchfiles' stop_event)."""

    def __init__(self, a: threading.Event, b: threading.Event) -> None:
        self.a, self.b = a, b

    def is_set(self) -> bool:
        return self.a.is_set() or self.b.is_set()
