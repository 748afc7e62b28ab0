"""The one clock a screen's terminal panes redraw on.

A pane with new output to draw joins the beat; at each tick (REFRESH_HZ) the selected pane
and one typed into redraw, and every other pane waiting redraws when the tick opens a new
BACKGROUND_HZ slot, so ten panes printing land their rows in the same frames (each frame costs
the compositor a pass over the union of what changed, whatever it holds). One repeating timer
for the whole screen, paused while nothing waits: a pane's own timer per redraw cost more than
the redraw (Textual's Timer takes its target's repr at every start), and an idle fleet costs
no wakeups. The first output after a pause is drawn at once.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from typing import Protocol

from textual.message_pump import MessagePump

REFRESH_HZ = 30  # the selected pane, and one typed into
BACKGROUND_HZ = 10  # every other pane shown, all in one slot of the clock


class Drawn(Protocol):
    @property
    def fast(self) -> bool: ...  # drawn at every tick, not once a slot

    def poll(self) -> None: ...


class PaneBeat:
    def __init__(self, owner: MessagePump, clock: Callable[[], float] = time.monotonic) -> None:
        self._due: dict[Drawn, None] = {}  # (ordered: panes draw in the order they asked)
        self._clock = clock
        self._slot = -1  # the BACKGROUND_HZ slot the waiting panes last drew in
        self._timer = owner.set_interval(1 / REFRESH_HZ, self._tick, pause=True,
                                         name="pane-beat")

    def add(self, pane: Drawn) -> None:
        self._due[pane] = None
        self._timer.resume()  # (a paused timer ticks at once; a running one at its next tick)

    def discard(self, pane: Drawn) -> None:
        self._due.pop(pane, None)

    def _tick(self) -> None:
        slot = int(self._clock() * BACKGROUND_HZ)
        background = slot != self._slot
        if background:
            self._slot = slot
        for pane in list(self._due):
            if background or pane.fast:
                del self._due[pane]
                pane.poll()
        if not self._due:
            self._timer.pause()


_beats: weakref.WeakKeyDictionary[MessagePump, PaneBeat] = weakref.WeakKeyDictionary()


def beat_of(screen: MessagePump) -> PaneBeat:
    """The beat of `screen`'s panes (made at the first pane that asks)."""
    beat = _beats.get(screen)
    if beat is None:
        beat = _beats[screen] = PaneBeat(screen)
    return beat
