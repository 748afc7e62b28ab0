"""The one way agentdeck writes a file it owns: atomically (a temporary file in the same folder,
then a rename), so a reader or a crash never sees half of it. And what it keeps for itself (the
registry folder: transcripts hold whatever agents print, the audit log, briefs, the daemon's
log, pid and locks) is the user's alone — files 0600 in 0700 folders, whatever the umask."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

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
        if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
            raise OperationError(f"cannot write {path}: {os.strerror(exc.errno).lower()}; it "
                                 "was left as it was (free some space and run the command "
                                 "again)") from None
        raise
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise
    return path


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

