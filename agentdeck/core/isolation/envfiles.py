"""Env files per worktree: copies of the main worktree's untracked files, and a managed block.

The managed block in `.env.local` is rewritten by agentdeck; every line outside it belongs to
the user and is kept byte for byte.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from agentdeck.core.errors import OperationError, UsageError
from agentdeck.core.files import open_under, read_text_under, stat_under, write_under
from agentdeck.core.git.repo import RepoContext

BEGIN = "# >>> agentdeck managed block: rewritten by agentdeck, put your own lines outside it"
END = "# <<< agentdeck managed block"
EXCLUDE_HEADER = "# agentdeck: per-worktree files it writes (kept out of git status)"
_SAFE_VALUE = re.compile(r"[A-Za-z0-9_./:@%+,=-]*")  # whole values only (fullmatch)
COPY_MAX = 1 << 20  # env_copy_max's default: env files are small; a big one is a mistake


@dataclass(frozen=True)
class CopyResult:
    name: str
    outcome: str  # copied | kept (already there, not overwritten) | missing (not in main)


def size_text(size: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def copy_untracked(src_root: Path, dst_root: Path, names: Iterable[str],
                   limit: int = COPY_MAX) -> list[CopyResult]:
    """Copy each file from the main worktree into the new one, never through a link on either
    side (a committed `.env -> /elsewhere` would receive the user's secrets; an untracked
    `key -> ~/.ssh/id_ed25519` would hand the agent the user's key), only regular files (no
    FIFO, device or /proc file) of at most `limit` bytes, never over a file already there."""
    results = []
    for name in names:
        into = (f"remove the link from the branch (git rm {name}) or take {name} out of "
                "env_copy")
        if stat_under(dst_root, name, "copy into", into) is not None:
            results.append(CopyResult(name, "kept"))
            continue
        hint = (f"make {name} a regular file in the main worktree (agentdeck copies only "
                f"those), or take it out of env_copy")
        source = open_under(src_root, name, "copy", hint)
        if source is None:
            results.append(CopyResult(name, "missing"))
            continue
        with source:
            info = os.fstat(source.fileno())
            if info.st_size > limit:  # the apparent size: a sparse file is refused unread
                raise OperationError(
                    f"cannot copy {src_root / name}: it is {size_text(info.st_size)}, more than "
                    f"env_copy_max ({size_text(limit)}); raise env_copy_max in the fleet file "
                    f"or take {name} out of env_copy")
            data = source.read(limit + 1)
            if len(data) > limit:  # it grew while we looked
                raise OperationError(f"cannot copy {src_root / name}: it grew past env_copy_max "
                                     f"({size_text(limit)}) while being copied")
        write_under(dst_root, name, data, mode=info.st_mode & 0o777, replace=False,
                    times=(info.st_atime_ns, info.st_mtime_ns), action="copy into", hint=into)
        results.append(CopyResult(name, "copied"))
    return results


def quote(value: str) -> str:
    """dotenv quoting that python-dotenv, docker compose, node's dotenv and bash all read back."""
    if _SAFE_VALUE.fullmatch(value):  # ("x\n" is not safe: written bare, it splits the line)
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped.replace("\n", "\\n") + '"'


def render_block(values: Mapping[str, str]) -> str:
    lines = [BEGIN, *(f"{key}={quote(val)}" for key, val in values.items()), END]
    return "\n".join(lines) + "\n"


def write_managed_block(path: Path, values: Mapping[str, str], root: Path | None = None) -> None:
    """Replace (or append) the managed block; the user's lines stay where they were. `root`:
    the worktree, below which no link is followed (default: the file's folder)."""
    root = path.parent if root is None else root
    rel = path.relative_to(root)
    block = render_block(values)
    text = read_text_under(root, rel) or ""
    start, end = text.find(BEGIN), text.find(END)
    if start != -1 and end > start:
        stop = text.find("\n", end)
        stop = len(text) if stop == -1 else stop + 1
        new = text[:start] + block + text[stop:]
    else:
        sep = "" if not text or text.endswith("\n") else "\n"
        new = text + sep + block
    write_under(root, rel, new)  # a file that exists keeps its permissions (the user's choice)


def read_env(path: Path, root: Path | None = None) -> dict[str, str]:
    """KEY=VALUE lines (optional `export`, quotes, comments), as the block above writes them.
    Read without following a link below `root` (default: the file's folder): a link in a
    worktree could bring in any file of the user's (keys, /proc/self/environ)."""
    values: dict[str, str] = {}
    root = path.parent if root is None else root
    try:
        lines = (read_text_under(root, path.relative_to(root)) or "").splitlines()
    except UnicodeDecodeError:
        return values
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1),
                           value[1:-1])
        elif len(value) >= 2 and value[0] == value[-1] == "'":
            value = value[1:-1]
        else:
            value = re.sub(r"\s+#.*$", "", value)
        values[key] = value
    return values


def ensure_ignored(ctx: RepoContext, worktree: Path, relpaths: Iterable[str]) -> list[str]:
    """Make agentdeck's files invisible to `git status` without touching a tracked file.

    A path the repository already ignores is left alone; any other goes into the common
    `info/exclude` (shared by all worktrees, never committed). A tracked path cannot be
    ignored, so writing it would create a diff in the agent's branch: that is refused.
    Returns the patterns added.
    """
    added = []
    for rel in relpaths:
        if ctx.git_ok("ls-files", "--error-unmatch", "--", rel, cwd=worktree):
            raise UsageError(f"'{rel}' is tracked in this repository, so agentdeck would change a "
                             f"committed file; untrack it (git rm --cached {rel}) or choose "
                             "another defaults.env_file")
        if not ctx.git_ok("check-ignore", "-q", "--", rel, cwd=worktree):
            added.append("/" + rel)
    if added:
        exclude = "info/exclude"  # under git's own folder: no link followed there either
        text = read_text_under(ctx.common_dir, exclude) or ""
        lines = text.splitlines()
        missing = [pattern for pattern in added if pattern not in lines]
        if missing:
            sep = "" if not text or text.endswith("\n") else "\n"
            header = "" if EXCLUDE_HEADER in lines else EXCLUDE_HEADER + "\n"
            write_under(ctx.common_dir, exclude, text + sep + header + "\n".join(missing) + "\n",
                        mode=None if text else 0o644)  # as git makes it
    return added

