"""The scrollback that moved out of Ghostty's grid, kept as the formatter wrote it.

Each move is one block of bytes: the lines the program printed (soft wraps joined), each with
its colours as SGR, joined by CRLF — what `RowReader.history` gives, before it is split and
decoded. A flood moves a block every thousand lines or so; splitting each into lines and
decoding every line on the way (200,000 decodes in a 20 MB flood) cost the PTY feeder more
than a tenth of its time. A block is split only when someone reads the scrollback (ScrollBack,
`agentdeck logs`, a replay), which is rare beside the output going through.

Bounded in lines: the oldest blocks go once the rest hold `limit` lines, so the archive keeps
at most one block's lines past the bound (about a thousand), and reports exactly `limit`.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable

_SGR = re.compile(rb"\x1b\[[0-9;:]*m")


class Archive:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._blocks: deque[bytes] = deque()
        self._counts: deque[int] = deque()  # each block's lines
        self._total = 0

    def __bool__(self) -> bool:
        return self._total > 0

    def __len__(self) -> int:
        return min(self._total, self.limit)

    def add(self, block: bytes) -> None:
        """`block`: lines joined by CRLF (an empty block is one empty line, as split says)."""
        if self.limit <= 0:
            return
        count = block.count(b"\n") + 1  # (each line ends in CRLF: no cell holds a newline)
        self._blocks.append(block)
        self._counts.append(count)
        self._total += count
        while self._total - self._counts[0] >= self.limit:
            self._blocks.popleft()
            self._total -= self._counts.popleft()

    def clear(self) -> None:
        self._blocks.clear()
        self._counts.clear()
        self._total = 0

    def styled(self) -> list[str]:
        """The last `limit` lines, oldest first, with their SGR."""
        return self._lines(self._blocks)

    def plain(self) -> list[str]:
        """The same lines as text, trailing blanks removed."""
        return [line.rstrip() for line in self._lines(
            _SGR.sub(b"", block) if b"\x1b" in block else block for block in self._blocks)]

    def _lines(self, blocks: Iterable[bytes]) -> list[str]:
        lines: list[str] = []
        for block in blocks:
            lines += block.decode("utf-8", "replace").split("\r\n")
        return lines[-self.limit:] if len(lines) > self.limit else lines
