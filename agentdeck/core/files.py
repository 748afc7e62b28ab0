"""The one way agentdeck writes a file it owns: atomically (a temporary file in the same folder,
then a rename), so a reader or a crash never sees half of it. And what it keeps for itself (the
registry folder: transcripts hold whatever agents print, the audit log, briefs, the daemon's
log, pid and locks) is the user's alone — files 0600 in 0700 folders, whatever the umask.

Files in a worktree (env copies, the managed block, a compose override, a sqlite copy) are
written and read through the `*_under` functions: every component below the root is opened with
O_NOFOLLOW, so a link a branch committed or an agent planted can never send the user's secrets
elsewhere, nor bring a file from elsewhere in."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePath
from typing import IO, Any, NoReturn

from agentdeck.core.errors import OperationError


def atomic_write(path: Path, text: str, mode: int | None = None, fsync: bool = True,
                 check: Callable[[Path], None] | None = None) -> Path:
    """Write `text` to `path` in one step: a temporary file with a unique name in the same
    folder, on disk (`fsync`) before it is renamed over `path`. `mode`: the file's permissions
    (default: those of the file it replaces, else 0600 for a new one). `check`, when given, reads
    the temporary file first; whatever it raises leaves `path` as it was. A full disk (or a
    read-only one) is one clear error naming the file, which is then as it was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        if mode is None:
            mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
        os.chmod(tmp, mode)
        if check is not None:
            check(Path(tmp))
        os.replace(tmp, path)
    except OSError as exc:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        _raise_disk_error(path, exc)
        raise
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _raise_disk_error(path: Path, exc: OSError) -> None:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        raise OperationError(f"cannot write {path}: {os.strerror(exc.errno).lower()}; it "
                             "was left as it was (free some space and run the command "
                             "again)") from None


def write_private(path: Path, text: str) -> Path:
    """A file only the user may read (it may hold what agents print, or commands)."""
    return atomic_write(path, text, mode=0o600)


def private_dir(path: Path) -> Path:
    """A folder only the user may enter (made with its parents when missing)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def open_private(path: Path, mode: str = "a", **kwargs: Any) -> IO[Any]:
    """Open a file of the registry folder for appending or writing: created 0600 (an existing
    one is made 0600 too), in a private folder."""
    private_dir(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (
        os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, mode, **kwargs)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (a lock file of the registry folder, 0600) while the
    block runs: one writer of a shared file at a time, across processes (closing releases)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def tighten(folder: Path) -> None:
    """Make what is under `folder` private (folders 0700, files 0600; links left alone):
    files an older version, or another umask, left readable."""
    if not folder.is_dir():
        return
    for root, dirs, files in os.walk(folder):
        for name, want in [(d, 0o700) for d in dirs] + [(f, 0o600) for f in files] + [
                (".", 0o700)]:
            path = os.path.join(root, name)
            info = os.lstat(path)
            if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & 0o077:
                os.chmod(path, want if stat.S_ISDIR(info.st_mode) or
                         stat.S_ISREG(info.st_mode) else stat.S_IMODE(info.st_mode) & 0o700)


# -- under a root, never through a link ----------------------------------------------------------

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
LINK_HINT = ("replace the link with the real file or folder (or remove it from the branch), or "
             "choose another path in the fleet file")
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))


class _Under:
    """The folder holding `rel` below `root`, reached one component at a time through file
    descriptors opened with O_NOFOLLOW: no link between the root and the file is ever followed,
    and none swapped in meanwhile can redirect what is done next (it happens relative to the
    descriptor of the folder that was checked). The root itself is agentdeck's or the user's
    choice (a worktree, the git folder) and may lie behind a link of theirs."""

    def __init__(self, root: Path, rel: str | PurePath, action: str, hint: str,
                 create: bool = False) -> None:
        parts = PurePath(rel).parts
        if not parts or PurePath(rel).is_absolute() or ".." in parts:
            raise OperationError(f"cannot {action} {rel}: it is not a path inside {root}")
        self.root, self.parts, self.action, self.hint = root, parts, action, hint
        self.create = create
        self.path = root.joinpath(*parts)
        self.leaf = parts[-1]
        self.fds: list[int] = []
        self.made: list[tuple[int, str]] = []  # folders made on the way, undone on failure
        self.missing = False  # a folder on the way is not there (and create is False)

    @property
    def fd(self) -> int:
        return self.fds[-1]

    def __enter__(self) -> _Under:
        try:
            self.fds.append(os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
        except FileNotFoundError:
            if self.create:
                raise OperationError(f"cannot {self.action} {self.path}: {self.root} does not "
                                     "exist") from None
            self.missing = True
            return self
        try:
            for depth, name in enumerate(self.parts[:-1], start=1):
                if not self._step(name, depth):
                    self.missing = True
                    break
        except BaseException:
            self.undo()
            self.close()
            raise
        return self

    def _step(self, name: str, depth: int) -> bool:
        parent = self.fd
        try:
            self.fds.append(os.open(name, _DIR_FLAGS, dir_fd=parent))
            return True
        except FileNotFoundError:
            if not self.create:
                return False
        except OSError:
            self.refuse(parent, name, depth)
        try:
            os.mkdir(name, 0o777, dir_fd=parent)
            self.made.append((parent, name))
        except FileExistsError:
            pass  # made meanwhile: the open below checks whatever it is
        try:
            self.fds.append(os.open(name, _DIR_FLAGS, dir_fd=parent))
        except OSError:
            self.refuse(parent, name, depth)
        return True

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        while self.fds:
            os.close(self.fds.pop())

    def undo(self) -> None:
        for parent, name in reversed(self.made):
            # (fails when something else put a file there meanwhile: not ours to remove)
            with contextlib.suppress(OSError):
                os.rmdir(name, dir_fd=parent)
        self.made.clear()

    def refuse(self, parent: int, name: str, depth: int) -> NoReturn:
        """Raise the one line that says what is in the way, where, and what to do."""
        where = self.root.joinpath(*self.parts[:depth])
        what = "it" if depth == len(self.parts) else str(where)
        try:
            info = os.lstat(name, dir_fd=parent)
        except OSError as exc:
            raise OperationError(f"cannot {self.action} {self.path}: {what}: "
                                 f"{(exc.strerror or str(exc)).lower()}") from None
        if stat.S_ISLNK(info.st_mode):
            try:
                target = os.readlink(name, dir_fd=parent)
            except OSError:
                target = "?"
            problem = (f"{what} is a symbolic link (to {target}), and agentdeck follows no "
                       "link there (a branch or an agent could point it anywhere)")
        elif depth < len(self.parts):
            problem = f"{what} is not a folder"
        else:
            kind = next((k for test, k in _KINDS if test(info.st_mode)), "a special file")
            problem = f"{what} is {kind}, not a regular file"
        raise OperationError(f"cannot {self.action} {self.path}: {problem}; {self.hint}")

    def leaf_stat(self) -> os.stat_result | None:
        """The regular file at the end, or None when nothing is there; anything else (a link,
        a FIFO, a device, a folder) is refused."""
        if self.missing:
            return None
        try:
            info = os.lstat(self.leaf, dir_fd=self.fd)
        except FileNotFoundError:
            return None
        if not stat.S_ISREG(info.st_mode):
            self.refuse(self.fd, self.leaf, len(self.parts))
        return info


def stat_under(root: Path, rel: str | PurePath, action: str = "use",
               hint: str = LINK_HINT) -> os.stat_result | None:
    """The regular file root/rel (None when it is not there), checked as `_Under` does."""
    with _Under(root, rel, action, hint) as at:
        return at.leaf_stat()


def open_under(root: Path, rel: str | PurePath, action: str = "read",
               hint: str = LINK_HINT) -> IO[bytes] | None:
    """Open the regular file root/rel for reading (None when it is not there), never through a
    link; a FIFO, device or /proc file (reachable only through a link) is refused unopened."""
    with _Under(root, rel, action, hint) as at:
        if at.leaf_stat() is None:  # looked at before it is opened: opening a FIFO or device
            return None             # can block, or act
        try:
            fd = os.open(at.leaf, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         dir_fd=at.fd)
        except FileNotFoundError:
            return None
        except OSError:
            at.refuse(at.fd, at.leaf, len(at.parts))
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped after the look
            os.close(fd)
            at.refuse(at.fd, at.leaf, len(at.parts))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")


def read_text_under(root: Path, rel: str | PurePath, action: str = "read",
                    hint: str = LINK_HINT) -> str | None:
    handle = open_under(root, rel, action, hint)
    if handle is None:
        return None
    with handle:
        return handle.read().decode("utf-8")


def write_under(root: Path, rel: str | PurePath, data: str | bytes | IO[bytes], *,
                mode: int | None = None, replace: bool = True,
                times: tuple[int, int] | None = None, action: str = "write",
                hint: str = LINK_HINT) -> bool:
    """Write root/rel in one step without following a link on the way or at the end: a
    temporary file made (O_EXCL) in the checked folder, then renamed onto the name through that
    folder's descriptor (a link swapped in meanwhile is replaced, never written through).
    Missing folders are made. `mode` as atomic_write; `times`: (atime, mtime) in ns to keep.
    `replace=False` never overwrites: it returns False, writing nothing, when something is
    there. A failure leaves nothing: no temporary file, no folder it made."""
    with _Under(root, rel, action, hint, create=True) as at:
        tmp = ""
        try:
            existing = at.leaf_stat()
            if existing is not None and not replace:
                return False
            if mode is None:
                mode = stat.S_IMODE(existing.st_mode) if existing is not None else 0o600
            tmp = f".{at.leaf}.{secrets.token_hex(6)}.tmp"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o600, dir_fd=at.fd)
            with os.fdopen(fd, "wb") as handle:
                if isinstance(data, str | bytes):
                    handle.write(data.encode("utf-8") if isinstance(data, str) else data)
                else:
                    shutil.copyfileobj(data, handle, 1 << 20)
                handle.flush()
                os.fchmod(fd, mode)
                if times is not None:
                    os.utime(fd, ns=times)
                os.fsync(fd)
            if replace:
                os.rename(tmp, at.leaf, src_dir_fd=at.fd, dst_dir_fd=at.fd)
            else:
                linked = _link_new(at, tmp)  # (removes the temporary file either way)
                tmp = ""
                return linked
        except BaseException as exc:
            if tmp:
                _unlink_quietly(tmp, at.fd)
            at.undo()
            if isinstance(exc, OSError):
                _raise_disk_error(at.path, exc)
            raise
    return True


def _link_new(at: _Under, tmp: str) -> bool:
    """Give the temporary file its name only if nothing has that name (a hard link fails on any
    entry there, a dangling link included); False, with the temporary file gone, if one does."""
    try:
        os.link(tmp, at.leaf, src_dir_fd=at.fd, dst_dir_fd=at.fd, follow_symlinks=False)
    except FileExistsError:
        _unlink_quietly(tmp, at.fd)
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        # a filesystem without hard links: checked just before, so rename (the agent is not
        # running yet while agentdeck provisions its worktree)
        if at.leaf_stat() is not None:
            _unlink_quietly(tmp, at.fd)
            return False
        os.rename(tmp, at.leaf, src_dir_fd=at.fd, dst_dir_fd=at.fd)
        return True
    os.unlink(tmp, dir_fd=at.fd)
    return True


def _unlink_quietly(name: str, dir_fd: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=dir_fd)


def remove_under(root: Path, rel: str | PurePath, hint: str = LINK_HINT) -> bool:
    """Delete root/rel (the entry itself: a link there is removed, not followed), refusing a
    link on the way to it. False when it was not there."""
    with _Under(root, rel, "delete", hint) as at:
        if at.missing:
            return False
        try:
            os.unlink(at.leaf, dir_fd=at.fd)
        except FileNotFoundError:
            return False
    return True
