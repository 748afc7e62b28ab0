"""A unified diff (`git diff` output) as files, hunks and lines with their old and new line
numbers — what the review screen lays out side by side or unified."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK_RE = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")


@dataclass(frozen=True)
class Line:
    kind: str  # " " context, "-" removed, "+" added, "\\" no newline note
    text: str
    old: int | None
    new: int | None


@dataclass
class Hunk:
    header: str
    lines: list[Line] = field(default_factory=list)


@dataclass
class FileDiff:
    path: str
    status: str = "M"  # A added, D deleted, M modified, R renamed
    old_path: str | None = None
    hunks: list[Hunk] = field(default_factory=list)
    binary: bool = False

    @property
    def added(self) -> int:
        return sum(1 for h in self.hunks for line in h.lines if line.kind == "+")

    @property
    def removed(self) -> int:
        return sum(1 for h in self.hunks for line in h.lines if line.kind == "-")


def parse(text: str) -> list[FileDiff]:
    files: list[FileDiff] = []
    current: FileDiff | None = None
    hunk: Hunk | None = None
    old = new = 0
    for raw in text.splitlines():
        if raw.startswith("diff --git "):
            m = re.match(r"diff --git a/(.*) b/(.*)$", raw)
            current = FileDiff(m.group(2) if m else raw[11:])
            files.append(current)
            hunk = None
            continue
        if current is None:
            continue
        if hunk is None:  # the file's header lines, before its first hunk
            if raw.startswith("new file"):
                current.status = "A"
            elif raw.startswith("deleted file"):
                current.status = "D"
            elif raw.startswith("rename from "):
                current.status, current.old_path = "R", raw[12:]
            elif raw.startswith("Binary files"):
                current.binary = True
        m = _HUNK_RE.match(raw)
        if m:
            old, new = int(m.group(1)), int(m.group(3))
            hunk = Hunk(raw)
            current.hunks.append(hunk)
            continue
        if hunk is None:
            continue
        tag = raw[:1]
        if tag == " ":
            hunk.lines.append(Line(" ", raw[1:], old, new))
            old, new = old + 1, new + 1
        elif tag == "-":
            hunk.lines.append(Line("-", raw[1:], old, None))
            old += 1
        elif tag == "+":
            hunk.lines.append(Line("+", raw[1:], None, new))
            new += 1
        elif tag == "\\":
            hunk.lines.append(Line("\\", raw[2:], None, None))
    return files
