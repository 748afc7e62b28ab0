"""The one way agentdeck writes a file it owns: atomically (a temporary file in the same folder,
then a rename), so a reader or a crash never sees half of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, text: str, mode: int | None = None, fsync: bool = False) -> Path:
    """Write `text` to `path` in one step. `mode`: the file's permissions (default: those of
    the file it replaces, else 0600 for a new one); `fsync`: on disk before the rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        if mode is None:
            mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_private(path: Path, text: str) -> Path:
    """A file only the user may read (it may hold what agents print, or commands)."""
    return atomic_write(path, text, mode=0o600)
