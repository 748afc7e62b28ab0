"""Ghostty's rows read in bulk (its own formatter, parsed) are the rows read cell by cell: the
same characters with the same styles, the same padding and the same written length — over the
real agent CLIs' recorded output fed in pieces, 20 MB-bench-style mixed ANSI, and the awkward
cases (erased backgrounds, wide and combining characters, soft wraps, every SGR attribute)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentdeck.core.screen.terminal import backends
from agentdeck.core.screen.terminal.base import Run

pytestmark = pytest.mark.skipif("ghostty" not in backends(), reason="no pyghostty wheel here")

REAL = Path(__file__).parent / "fixtures" / "real"
AWKWARD = [
    b"abc\x1b[44m\x1b[K\x1b[0m\r\n\r\n\x1b[41m  \x1b[0m  \x1b[42m \x1b[0m\r\n",
    b"x" * 130 + b"\r\n" + ("中文" * 20).encode(),
    "e\u0301 cafe\u0301 👍🏽 ❤️ 👨‍👩‍👧 ✓ ⚠\r\n".encode(),
    b"\x1b[7mrev\x1b[27m \x1b[2mdim\x1b[22m \x1b[3mit\x1b[23m \x1b[9ms\x1b[29m \x1b[4mu\x1b[24m "
    b"\x1b[38;2;1;2;3mrgb\x1b[39m \x1b[48;2;9;8;7mbg\x1b[49m \x1b[97mbright\x1b[0m \x1b[1;2mbd\r\n",
    b"\x1b[4:3mcurly\x1b[4:0m \x1b[58;5;1munder\x1b[0m \x1b[8minv\x1b[0m\x1b[53mover\x1b[55m\r\n",
    b"\x1b[5;10Hmid\x1b[12;1Hab  \r\n   \x1b[3C  x\x1b[K\r\n",
    b"\x1b[?1049h\x1b[2J\x1b[1;1H\x1b[44m" + b" " * 120 + b"\x1b[0m\x1b[40;1Hstatus\x1b[?1049l",
]


def cells(runs: list[Run]) -> list[tuple[str, object]]:
    """Each character with its style — for a blank, what shows of a style on a blank (the
    formatter may carry bold or a colour over a blank: it looks the same)."""
    return [(char, run.style if char != " " else (run.style.bg, run.style.reverse,
                                                  run.style.underline, run.style.strike))
            for run in runs for char in run.text]


def same_rows(fast, slow) -> None:  # type: ignore[no-untyped-def]
    assert fast.take_dirty() == slow.take_dirty()
    for y in range(fast.rows):
        assert cells(fast.row(y)) == cells(slow.row(y)), (y, fast.row(y), slow.row(y))
        assert fast.row_end(y) == slow.row_end(y), y


def pair(cols: int, rows: int):  # type: ignore[no-untyped-def]
    from agentdeck.core.screen.terminal.ghostty import GhosttyEmulator

    return GhosttyEmulator(cols, rows, 1000), GhosttyEmulator(cols, rows, 1000, bulk=False)


@pytest.mark.parametrize("stream", sorted(REAL.glob("*.pty")), ids=lambda p: p.stem)
def test_real_agent_output_reads_the_same_in_bulk(stream: Path) -> None:
    cols = int(stream.stem.rsplit("-", 1)[1])
    fast, slow = pair(cols, 40)
    data = stream.read_bytes()
    for start in range(0, len(data), 1500):  # in pieces: each redraw's dirty rows compared
        fast.feed(data[start:start + 1500])
        slow.feed(data[start:start + 1500])
        same_rows(fast, slow)


def test_awkward_screens_read_the_same_in_bulk() -> None:
    from bench.terminal import mixed_ansi

    fast, slow = pair(120, 40)
    for data in [*AWKWARD, mixed_ansi(200_000)]:
        fast.feed(data)
        slow.feed(data)
        same_rows(fast, slow)
    fast.scroll(-15)  # the viewport in the scrollback
    slow.scroll(-15)
    same_rows(fast, slow)


@pytest.mark.parametrize("stream", sorted(REAL.glob("*.pty"))[:4], ids=lambda p: p.stem)
def test_the_screens_text_kept_per_changed_row_is_the_screens_text(stream: Path) -> None:
    """The detectors' reading (only the rows Ghostty marks changed read again) is what a
    whole-screen read gives, feed after feed; a pane's dirty rows, taken in between, do not
    take the reader's away."""
    from pyghostty._ffi import ffi, lib

    from agentdeck.core.screen.terminal.ghostty import GhosttyEmulator

    cols = int(stream.stem.rsplit("-", 1)[1])
    data = stream.read_bytes() + b"".join(AWKWARD)
    kept = GhosttyEmulator(cols, 40, 1000)
    for n, start in enumerate(range(0, len(data), 700)):
        kept.feed(data[start:start + 700])
        if n % 3 == 0:
            kept.take_dirty()
        if n % 2 == 0:
            continue  # (two feeds between some reads)
        term = kept._term
        whole = (term.text().split("\n") + [""] * 40)[:40]
        assert kept.lines() == whole, n
        wraps = set()
        raw, flag = ffi.new("GhosttyRow*"), ffi.new("bool*")
        for y in range(40):
            row = term.ref(0, y)
            lib.ghostty_grid_ref_row(row, raw)
            lib.ghostty_row_get(raw[0], lib.GHOSTTY_ROW_DATA_WRAP, flag)
            if flag[0]:
                wraps.add(y)
        assert kept.wrapped_rows() == wraps, n


@pytest.mark.parametrize("stream", sorted(REAL.glob("*.pty"))[::3], ids=lambda p: p.stem)
def test_rows_read_only_when_asked_are_the_rows(stream: Path) -> None:
    """A pane that shows part of its agent's screen asks only for those rows: each changed
    row is read when asked, however many feeds later, and is then what it is on screen."""
    import random

    cols = int(stream.stem.rsplit("-", 1)[1])
    fast, slow = pair(cols, 40)
    data = stream.read_bytes() + b"".join(AWKWARD)
    rng = random.Random(3)
    for start in range(0, len(data), 900):
        fast.feed(data[start:start + 900])
        slow.feed(data[start:start + 900])
        slow.take_dirty()
        fast.take_dirty()
        top = rng.randrange(40)
        for y in range(top, min(40, top + rng.randrange(1, 12))):  # the rows it shows
            assert cells(fast.row(y)) == cells(slow.row(y)), (start, y)
    for y in range(40):
        assert cells(fast.row(y)) == cells(slow.row(y)), y
        assert fast.row_end(y) == slow.row_end(y), y
