"""A dashboard starting on the session host shows every agent's screen before it has loaded an
emulator of its own (issue 32): the host sends a picture of every screen in one round trip,
each pane draws it, and the mirrors that replace it start only once the pictures are drawn."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agentdeck.core.screen.terminal import make_emulator
from agentdeck.daemon import lifecycle
from agentdeck.daemon.client import RemoteHost, RemoteQueue
from agentdeck.daemon.pictures import Picture, picture_to_wire
from tests.conftest import until, wait
from tests.test_daemon import chatty
from tests.test_pane_views import shown_text

STYLED = ("\x1b]2;building\x07\x1b[?2004h\x1b[1;31mbold red\x1b[0m plain "
          "\x1b[38;5;208m\x1b[48;2;10;20;30morange on rgb\x1b[0m\r\n"
          "\x1b[3;4;9mslanted\x1b[0m \x1b[2;7mdim reversed\x1b[0m "
          "\x1b]8;;https://example.com\x1b\\a link\x1b]8;;\x1b\\ 中文 ✓\r\nidle> ").encode()


def test_a_picture_draws_the_rows_its_emulator_draws() -> None:
    emulator = make_emulator(60, 8, 100)
    emulator.feed(STYLED)
    picture = Picture(json.loads(json.dumps(picture_to_wire(emulator))))  # (as on the wire)
    assert (picture.cols, picture.rows) == (60, 8)
    assert [picture.row(y) for y in range(8)] == [emulator.row(y) for y in range(8)]
    assert picture.lines() == emulator.lines()
    assert picture.cursor() == emulator.cursor() and picture.title() == "building"
    assert picture.modes() == emulator.modes() and picture.modes().bracketed_paste
    assert picture.take_dirty() == set(range(8)) and picture.take_dirty() == set()
    with pytest.raises(TypeError):
        picture.feed(b"more")


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Path]:
    state = tmp_path / "state"
    yield state
    lifecycle.stop(state)


def recording(host: RemoteHost, held: threading.Event) -> list[str]:
    """The requests `host` makes, by name, as it makes them; an "attach" (a mirror's replay)
    waits until `held` is set."""
    ops: list[str] = []
    request = host._conn.request

    def recorded(op: str, payload: bytes = b"", **fields: Any) -> tuple[Any, bytes]:
        ops.append(op)
        if op == "attach":
            held.wait()
        return request(op, payload, **fields)

    host._conn.request = recorded  # type: ignore[method-assign]
    return ops


def test_every_screen_comes_in_one_round_trip_and_mirrors_wait_for_the_pictures(
        state: Path, tmp_path: Path) -> None:
    names = ("a", "b", "c")
    started = lifecycle.ensure(state, None)
    for name in names:
        started.spawn(chatty(tmp_path, name, lines=40))
    queue = RemoteQueue(started)
    wait(lambda: len(queue.pending()) == len(names), "every agent's prompt")
    snapshots = {name: started.snapshot(name) for name in names}
    host = lifecycle.ensure(state, None)
    try:
        released = threading.Event()
        released.set()
        ops = recording(host, released)
        host.prefetch_screens()
        wait(lambda: all(_viewable(host, n) for n in names), "the pictures")
        assert ops == ["screens"]  # every screen, one round trip, no mirror yet
        for name in names:
            with host.terminal(name) as emulator:
                assert isinstance(emulator, Picture) and emulator.lines() == snapshots[name]
        host.mirror_screens()  # (the pictures are drawn): the mirrors replace them
        wait(lambda: all(_mirrored(host, n) for n in names), "the mirrors")
        assert sorted(ops) == ["attach"] * len(names) + ["screens"]
        for name in names:
            with host.terminal(name) as emulator:
                assert emulator.lines() == snapshots[name]
    finally:
        host.close()
        started.close()


def _viewable(host: RemoteHost, name: str) -> bool:
    try:
        host.terminal(name)
    except KeyError:
        return False
    return True


def _mirrored(host: RemoteHost, name: str) -> bool:
    return _viewable(host, name) and not isinstance(host.terminal(name).emulator, Picture)


async def test_panes_show_their_screens_before_any_mirror_is_in(tmp_path: Path) -> None:
    from agentdeck.commands.context import attach_deck
    from agentdeck.core.engine.engine import Engine
    from agentdeck.core.fleet.schema import load_fleet
    from agentdeck.core.git.repo import open_repo
    from agentdeck.ui.app import AgentdeckApp
    from tests.conftest import make_repo, run_agentdeck, write_fleet

    repo = make_repo(tmp_path)
    script = tmp_path / "calm.py"
    script.write_text("import time\nfor i in range(30): print(f'line {i}')\n"
                      "print('idle> ', end='', flush=True)\ntime.sleep(600)\n")
    write_fleet(repo, f"""\
version: 1
base: origin/main
worktrees: ../{{repo}}-{{name}}
commands:
  calm: "{sys.executable} {script}"
defaults: {{agent: calm, ports: {{start: 27411}}}}
agents:
  - {{name: one, branch: feat/one}}
  - {{name: two, branch: feat/two}}
""")
    ctx, fleet = open_repo(repo), load_fleet(repo / "agentdeck.yaml")
    assert Engine(ctx, fleet).up().exit_code == 0
    started = run_agentdeck("start", cwd=repo)  # (in the session host)
    assert started.code == 0, started.err
    deck = attach_deck(ctx, fleet)
    try:
        host = deck.host
        assert isinstance(host, RemoteHost)
        wait(lambda: all("idle>" in "".join(host.snapshot(n)) for n in ("one", "two")),
             "both agents at their prompt")
        held = threading.Event()  # no mirror can come in: only the pictures can draw
        ops = recording(host, held)
        host.prefetch_screens()
        app = AgentdeckApp(deck)
        async with app.run_test(size=(160, 45)) as pilot:
            panes = app.dashboard.panes
            await until(pilot, lambda: all("idle>" in shown_text(panes[n]) for n in panes))
            assert ops[0] == "screens" and not any(n in host.mirrored() for n in panes)
            held.set()  # the mirrors come in and take over
            await until(pilot, lambda: all(_mirrored(host, n) for n in panes))
            await until(pilot, lambda: all("idle>" in shown_text(panes[n]) for n in panes))
    finally:
        deck.close()
        lifecycle.stop(ctx.state_dir)
