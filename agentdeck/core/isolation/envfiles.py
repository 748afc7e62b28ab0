"""Env files per worktree: copies of the main worktree's untracked files, and a managed block.

The managed block in `.env.local` is rewritten by agentdeck; every line outside it belongs to
the user and is kept byte for byte.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from agentdeck.core.errors import UsageError
from agentdeck.core.files import atomic_write
from agentdeck.core.repo import RepoContext

BEGIN = "# >>> agentdeck managed block: rewritten by agentdeck, put your own lines outside it"
END = "# <<< agentdeck managed block"
EXCLUDE_HEADER = "# agentdeck: per-worktree files it writes (kept out of git status)"
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_./:@%+,=-]*$")


@dataclass(frozen=True)
class CopyResult:
    name: str
    outcome: str  # copied | kept (already there, not overwritten) | missing (not in main)


def copy_untracked(src_root: Path, dst_root: Path, names: Iterable[str]) -> list[CopyResult]:
    results = []
    for name in names:
        src, dst = src_root / name, dst_root / name
        if dst.exists():
            results.append(CopyResult(name, "kept"))
        elif not src.is_file():
            results.append(CopyResult(name, "missing"))
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
            results.append(CopyResult(name, "copied"))
    return results


def quote(value: str) -> str:
    """dotenv quoting that python-dotenv, docker compose, node's dotenv and bash all read back."""
    if _SAFE_VALUE.match(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"' + escaped.replace("\n", "\\n") + '"'


def render_block(values: Mapping[str, str]) -> str:
    lines = [BEGIN, *(f"{key}={quote(val)}" for key, val in values.items()), END]
    return "\n".join(lines) + "\n"


def write_managed_block(path: Path, values: Mapping[str, str]) -> None:
    """Replace (or append) the managed block; the user's lines stay where they were."""
    block = render_block(values)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    start, end = text.find(BEGIN), text.find(END)
    if start != -1 and end > start:
        stop = text.find("\n", end)
        stop = len(text) if stop == -1 else stop + 1
        new = text[:start] + block + text[stop:]
    else:
        sep = "" if not text or text.endswith("\n") else "\n"
        new = text + sep + block
    atomic_write(path, new)  # a file that exists keeps its permissions (the user's choice)


def read_env(path: Path) -> dict[str, str]:
    """KEY=VALUE lines (optional `export`, quotes, comments), as the block above writes them."""
    values: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        return values
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
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
        exclude = ctx.common_dir / "info" / "exclude"
        exclude.parent.mkdir(parents=True, exist_ok=True)
        text = exclude.read_text(encoding="utf-8") if exclude.exists() else ""
        lines = text.splitlines()
        missing = [pattern for pattern in added if pattern not in lines]
        if missing:
            sep = "" if not text or text.endswith("\n") else "\n"
            header = "" if EXCLUDE_HEADER in lines else EXCLUDE_HEADER + "\n"
            with exclude.open("a", encoding="utf-8") as handle:
                handle.write(sep + header + "\n".join(missing) + "\n")
    return added

