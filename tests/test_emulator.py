"""Both emulator backends pass the same tests: text, styles, wide characters, modes,
scrollback and dirty-row tracking."""

from __future__ import annotations

import platform
import random
import sys

import pytest

from agentdeck.core.screen.terminal import backends, make_emulator

BACKENDS = backends()


def row_text(emulator, y: int) -> str:
    return "".join(run.text for run in emulator.row(y)).rstrip()


@pytest.fixture(params=BACKENDS)
def emu(request):
    emulator = make_emulator(40, 6, 50, request.param)
    yield emulator
    emulator.close()


def test_ghostty_is_the_first_backend_where_its_wheel_exists() -> None:
    # pyproject pins the wheel for linux x86_64 only; pyte is the fallback elsewhere
    if sys.platform == "linux" and platform.machine() == "x86_64":
        assert BACKENDS[0] == "ghostty"
    else:
        assert BACKENDS[-1] == "pyte"
        assert make_emulator(10, 3, 5).__class__.__name__ in ("GhosttyEmulator", "PyteEmulator")


def test_text_cursor_and_styles(emu) -> None:
    emu.feed(b"\x1b[1;31mred bold\x1b[0m \x1b[38;5;201mp\x1b[48;2;1;2;3mq\x1b[0m "
             b"\x1b[3;4;7mx\x1b[0m\r\nnext")
    emu.take_dirty()
    runs = emu.row(0)
    assert runs[0].text == "red bold" and runs[0].style.bold and runs[0].style.fg == 1
    p = next(r for r in runs if r.text == "p")
    assert p.style.fg in (201, (255, 0, 255))  # pyte turns 256 colours into RGB
    q = next(r for r in runs if r.text == "q")
    assert q.style.bg == (1, 2, 3)
    x = next(r for r in runs if r.text == "x")
    assert x.style.italic and x.style.underline and x.style.reverse
    assert emu.lines()[:2] == ["red bold pq x", "next"]
    assert emu.cursor() == (4, 1)


def test_private_queries_and_settings_do_not_stop_the_screen(emu) -> None:
    """Private CSIs a backend does not act on (DECXCPR "CSI ? 6 n", a colour-scheme query
    "CSI ? 996 n", private forms of cursor moves) are passed over; what follows still draws
    (pyte's parser died on the first such query: Copilot CLI sends one at start)."""
    emu.feed(b"\x1b[?6n\x1b[?996nab\x1b[?5A\x1b[?2H\x1b[?1mc\r\nnext line")
    assert emu.lines()[:2] == ["abc", "next line"]


def test_wide_characters_take_two_cells(emu) -> None:
    emu.feed("中文ab".encode())
    emu.take_dirty()
    assert row_text(emu, 0) == "中文ab"
    assert emu.cursor() == (6, 0)


def test_modes(emu) -> None:
    assert not emu.modes().bracketed_paste and not emu.modes().app_cursor
    emu.feed(b"\x1b[?2004h\x1b[?1h")
    modes = emu.modes()
    assert modes.bracketed_paste and modes.app_cursor
    emu.feed(b"\x1b[?25l")
    assert not emu.modes().cursor_visible
    emu.feed(b"\x1b[?1049h")
    assert emu.modes().alt_screen


def test_scrollback_is_bounded_and_scrollable(emu) -> None:
    emu.feed(b"".join(b"line %d\r\n" % i for i in range(3000)))
    history = emu.history()
    assert len(history) == 50
    assert history[-1] == "line 2994"
    assert emu.lines()[0] == "line 2995"
    emu.take_dirty()
    emu.scroll(-3)
    emu.take_dirty()
    assert emu.scroll_offset == 3
    assert row_text(emu, 0) == "line 2992"
    assert emu.lines()[0] == "line 2995"  # the live screen does not move
    emu.scroll_to_bottom()
    emu.take_dirty()
    assert row_text(emu, 0) == "line 2995" and emu.scroll_offset == 0


def test_dirty_rows_keep_a_pane_in_step(emu) -> None:
    """A pane that redraws only the dirty rows always shows what the screen holds."""
    data = b""
    for i in range(40):
        data += b"\r\x1b[2K\x1b[1m*\x1b[0m Working (%ds \xe2\x80\xa2 esc to interrupt)" % i
        data += b"\r\x1b[2K- line %d \xe4\xb8\xad\r\n" % i
        if i % 10 == 9:
            data += b"\r\n  Would you like\r\n\r\n  1. yes\r\n  2. no\r\n" + b"\x1b[5A\x1b[J"
    shown: dict[int, str] = {}
    rnd = random.Random(7)
    pos = 0
    while pos < len(data):
        step = rnd.randint(1, 40)
        emu.feed(data[pos: pos + step])
        pos += step
        for y in emu.take_dirty():
            shown[y] = row_text(emu, y)
        assert [shown.get(y, "") for y in range(emu.rows)] == emu.lines()


def test_resize(emu) -> None:
    emu.feed(b"hello")
    emu.resize(20, 3)
    assert (emu.cols, emu.rows) == (20, 3)
    assert emu.take_dirty() == {0, 1, 2}
    assert emu.lines()[0] == "hello"


def test_soft_wraps_are_told_apart_from_full_rows(emu) -> None:
    emu.resize(10, 5)
    emu.feed(b"0123456789\r\nabcdefghijKLM\r\nx")
    assert emu.lines()[:3] == ["0123456789", "abcdefghij", "KLM"]
    wrapped = emu.wrapped_rows()
    if type(emu).__name__ == "PyteEmulator":
        assert wrapped is None  # pyte does not record it; detection falls back to the width
    else:
        assert wrapped == {1}  # row 0 is exactly full but ends in a newline, not a wrap


def test_ghostty_keeps_the_full_default_scrollback_of_long_lines() -> None:
    # Ghostty also bounds scrollback in bytes, by default far below 10,000 coloured lines
    emu = make_emulator(120, 40, 10_000, "ghostty")
    emu.feed(b"".join(b"\x1b[3%dmline %d %s\x1b[0m\r\n" % (i % 8, i, b"x" * 90)
                      for i in range(25_000)))
    history = emu.history()
    assert len(history) == 10_000
    assert history[-1].startswith("line 24960 ")  # 25,000 lines minus the 40 on screen


def test_replay_rebuilds_screen_scrollback_styles_and_modes(emu) -> None:
    from agentdeck.core.screen.terminal.replay import replay

    emu.feed(b"".join(b"\x1b[3%dmline %d %s\x1b[0m\r\n" % (i % 8, i, b"y" * (i % 45))
                      for i in range(300)))
    emu.feed("中文 wide ✓ \x1b[1;4;38;2;10;20;30mrgb\x1b[0m\r\n\x1b[?1h\x1b[?2004h$ ".encode())
    emu.feed(b"\x1b[?1004h\x1b[>5u\x1b]2;building \x1b[31mauth\x07")  # focus, kitty, title
    copy = make_emulator(emu.cols, emu.rows, emu.scrollback_limit, emu.name)
    copy.feed(replay(emu))
    assert copy.title() == "".join(c for c in emu.title() if c.isprintable())
    assert copy.lines() == emu.lines()
    assert copy.history() == emu.history()
    assert copy.cursor() == emu.cursor()
    assert copy.modes() == emu.modes()
    copy.take_dirty()
    assert [copy.row(y) for y in range(emu.rows)] == [emu.row(y) for y in range(emu.rows)]


@pytest.mark.parametrize("size", [(100, 24), (60, 24), (80, 30), (80, 20), (57, 13)])
def test_a_replayed_copy_reflows_as_the_original(size: tuple[int, int]) -> None:
    # a dashboard that attached before a resize and one that attaches after it must show the
    # same: lines that continue from scrollback onto the screen, wide characters at a row's
    # end, coloured and blank tails; every scroll position of the output (so every split)
    from agentdeck.core.screen.terminal.replay import replay

    for n in range(30, 60):
        emu = make_emulator(80, 24, 1000, "ghostty")
        emu.feed("".join(f"\x1b[3{i % 8}mline {i} " + "x" * (i * 37 % 150)
                         + ("中" * (i % 5)) + ("\x1b[44m  " if i % 7 == 0 else "")
                         + "\x1b[0m\r\n" for i in range(n)).encode())
        copy = make_emulator(80, 24, 1000, "ghostty")
        copy.feed(replay(emu))
        assert (copy.history(), copy.lines(), copy.cursor()) == (
            emu.history(), emu.lines(), emu.cursor()), n
        emu.resize(*size)
        copy.resize(*size)
        assert (copy.history(), copy.lines(), copy.cursor()) == (
            emu.history(), emu.lines(), emu.cursor()), n


@pytest.mark.parametrize("text", [
    "abcdefghijab   cd\r\n",  # a wrapped row that ends in spaces continues from scrollback
    "abcd中fg中hijk\r\n",  # a wide character that wraps early
    "abce\u0301fghijkl\r\n",  # a combining mark
    "ab   \r\nx\r\n",  # spaces the program wrote are content
    "     \r\n",  # a row of written spaces
])
def test_a_replayed_copy_of_awkward_lines_reflows_as_the_original(text: str) -> None:
    from agentdeck.core.screen.terminal.replay import replay

    for before in range(0, 8):  # each split between scrollback and screen
        emu = make_emulator(5, 3, 100, "ghostty")
        emu.feed(b"line\r\n" * before + text.encode())
        copy = make_emulator(5, 3, 100, "ghostty")
        copy.feed(replay(emu))
        assert (copy.history(), copy.lines()) == (emu.history(), emu.lines()), before
        for size in ((3, 3), (7, 4), (11, 2), (5, 3)):
            emu.resize(*size)
            copy.resize(*size)
            assert (copy.history(), copy.lines(), copy.cursor()) == (
                emu.history(), emu.lines(), emu.cursor()), (before, size)


def test_hyperlinks_are_kept_on_screen_and_through_a_replay() -> None:
    from agentdeck.core.screen.terminal.replay import replay

    emu = make_emulator(40, 5, 100, "ghostty")
    emu.feed(b"see \x1b]8;;https://example.com/pr/1\x1b\\PR 1\x1b]8;;\x1b\\ now\r\nplain")
    copy = make_emulator(40, 5, 100, "ghostty")
    copy.feed(replay(emu))
    for e in (emu, copy):
        e.take_dirty()
        assert [(r.text, r.style.link) for r in e.row(0)][:2] == [
            ("see ", None), ("PR 1", "https://example.com/pr/1")]
        assert all(r.style.link is None for r in e.row(1))


def _chunks(start: int, count: int, per: int = 100) -> list[bytes]:
    return [b"".join(b"\x1b[3%dmline %d %s\x1b[0m\r\n" % (i % 8, i, b"z" * (i % 70))
                     for i in range(n, min(n + per, start + count)))
            for n in range(start, start + count, per)]


def test_a_long_scrollback_moves_to_the_archive_and_stays_whole() -> None:
    from agentdeck.core.screen.terminal.ghostty import ARCHIVE_AT

    emu = make_emulator(120, 40, 10_000, "ghostty")
    archived = 0
    for chunk in _chunks(0, 5_000):  # as the session host feeds: a batch, then the check
        emu.feed(chunk)
        archived += emu.archive_scrollback()
    assert archived >= 3
    # the grid keeps the screen and what came since the last move; the history is whole
    assert len(emu.history(archived=False)) <= ARCHIVE_AT + 100
    history = emu.history()
    assert [line.split()[1] for line in history] == [str(i) for i in range(4_961)]
    assert emu.lines()[0].startswith("line 4961 ")
    for chunk in _chunks(5_000, 8_000):  # past the bound: the oldest go
        emu.feed(chunk)
        emu.archive_scrollback()
    history = emu.history()
    assert len(history) == 10_000 and history[0].startswith("line 2961 ")
    emu.feed(b"\x1b[3J")  # the program clears its scrollback: the archive goes too
    assert emu.history() == [] and emu.lines()[0].startswith("line 12961 ")


def test_a_mirror_told_of_each_move_reflows_as_the_session_hosts_screen() -> None:
    """A mirror (256 lines) gets ED 3 wherever the host's screen moved its scrollback to the
    archive: both grids then hold the same lines, so a resize pulls the same ones back."""
    from agentdeck.core.screen.terminal.base import ERASE_SCROLLBACK
    from agentdeck.core.screen.terminal.replay import replay

    host = make_emulator(100, 30, 10_000, "ghostty")
    mirrors = [make_emulator(100, 30, 256, "ghostty")]
    sizes = [(100, 60), (80, 45), (120, 20), (100, 30)]
    for n, chunk in enumerate(_chunks(0, 6_000, 70)):
        host.feed(chunk)
        moved = host.archive_scrollback()
        for mirror in mirrors:
            mirror.feed(chunk + (ERASE_SCROLLBACK if moved else b""))
        if n % 9 == 4:  # one attaches now: the screen and the grid's last lines
            mirror = make_emulator(host.cols, host.rows, 256, "ghostty")
            mirror.feed(replay(host, 256))
            mirrors.append(mirror)
        if moved or n % 13 == 7:  # (right after a move most of all: a taller screen pulls
            # lines back from a grid that was just emptied)
            size = (host.cols, host.rows + 20) if moved else sizes[n % len(sizes)]
            host.resize(*size)
            for mirror in mirrors:
                mirror.resize(*size)
        for mirror in mirrors:
            assert (mirror.lines(), mirror.cursor()) == (host.lines(), host.cursor()), n


def test_the_scrollback_keeps_its_colours_through_the_archive_and_a_replay() -> None:
    from agentdeck.core.screen.terminal.replay import replay

    emu = make_emulator(120, 40, 10_000, "ghostty")
    for chunk in _chunks(0, 3_000):
        emu.feed(chunk)
        emu.archive_scrollback()
    assert len(emu.history(archived=False)) < 1_500  # most of it is in the archive
    copy = make_emulator(120, 40, 10_000, "ghostty", archive=False)
    copy.feed(replay(emu))
    assert copy.history() == emu.history()
    copy.scroll(-3_000)  # to the top: line 0 on the first row
    copy.take_dirty()
    for y in range(40):
        [text, *_] = copy.row(y)  # "line N zz…" in colour N % 8, then blanks
        assert text.text.split()[:2] == ["line", str(y)] and text.style.fg == y % 8, y


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_text_kept_per_changed_row_is_the_screens_text(backend: str) -> None:
    """The detectors read each row's text again only where the screen changed: feed after
    feed (scrolling, erasing, inserting, wide characters, the alternate screen, mode changes cut
    in two), with a pane taking its dirty rows in between, the text, soft wraps and modes read
    are what a fresh emulator fed the same bytes shows."""
    pieces = [b"\x1b[32mline\x1b[0m %d " % n + b"x" * (n * 7 % 60) + b"\r\n" for n in range(90)]
    pieces += [b"\x1b[5;5Hx\x1b[2Kab\xe4\xb8\xad\xe6\x96\x87c", b"\x1b[10;1H\x1b[Jz",
               b"\x1b[?1049hfull\x1b[?1", b"049l", b"\x1b[3;1H\x1b[2L\x1b[M", b"\x1b[?2004h",
               b"\x1b[?25l\x1b[?1h", b"\rmore\r\n" * 7]
    rng = random.Random(7)
    kept = make_emulator(30, 12, 200, backend)
    fed = b""
    for n, piece in enumerate(pieces * 2):
        kept.feed(piece)
        fed += piece
        if rng.random() < 0.4:
            kept.take_dirty()
        if rng.random() < 0.5:
            fresh = make_emulator(30, 12, 200, backend)
            fresh.feed(fed)
            assert kept.modes() == fresh.modes(), n
            assert kept.lines() == fresh.lines(), n
            assert kept.wrapped_rows() == fresh.wrapped_rows(), n
            fresh.close()
    kept.resize(41, 12)
    fresh = make_emulator(30, 12, 200, backend)
    fresh.feed(fed)
    fresh.resize(41, 12)
    assert (kept.lines(), kept.wrapped_rows()) == (fresh.lines(), fresh.wrapped_rows())
    kept.close()


def test_the_archive_reads_back_the_lines_the_grid_would_hold_with_their_colours() -> None:
    """What moved out of the grid in blocks (kept as formatted, split only when read) reads
    back as the same lines, with the same colours, as a grid that kept them all: long lines
    that wrap, wide characters, styles running on over a line's end; past the bound, exactly
    the last `scrollback` lines."""
    from agentdeck.core.screen.terminal.archive import Archive

    lines = [b"\x1b[1;3%dm%05d \x1b[38;5;%dm%s\xe4\xb8\xad\x1b[48;2;9;%d;9m %s" % (
        i % 8, i, i % 256, b"w" * (i % 300), i % 256, b"x" * (i % 7))
        + (b"\x1b[0m" if i % 3 else b"") + b"\r\n" for i in range(6_000)]
    for limit in (8_000, 2_500):
        archiving = make_emulator(100, 30, limit, "ghostty")
        # (a grid bounds its scrollback in rows: this one holds every line)
        whole = make_emulator(100, 30, 20_000, "ghostty", archive=False)
        moves = n = 0
        sizes = random.Random(3)
        while n < len(lines):  # (a move waits for a line that does not go on onto the screen)
            chunk = b"".join(lines[n:n + sizes.randint(20, 200)])
            n += len(chunk) and chunk.count(b"\r\n")
            archiving.feed(chunk)
            moves += archiving.archive_scrollback()
            whole.feed(chunk)
        assert moves >= 3
        assert len(whole.history()) > 5_900
        assert archiving.history() == whole.history()[-limit:]
        # the same characters in the same styles (the formatter's SGR may differ where it
        # resets between the grid's pages)
        parse = archiving._row_reader().runs
        assert [[(run.text, run.style) for run in parse(line.encode(), 0)[0]]
                for line in archiving.styled_history()] == [
            [(run.text, run.style) for run in parse(line.encode(), 0)[0]]
            for line in whole.styled_history()[-limit:]]
    archive = Archive(3)
    archive.add(b"a\r\n\x1b[31mb \x1b[0m")
    archive.add(b"")  # (one empty line)
    archive.add(b"c\r\nd")
    assert archive.styled() == ["", "c", "d"] and archive.plain() == ["", "c", "d"]
    assert len(archive) == 3
    archive.clear()
    assert not archive and archive.styled() == []
