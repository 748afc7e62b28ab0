"""The beat a screen's panes redraw on (ui/widgets/pane_beat.py): the selected pane at every
tick, every other pane waiting in the same tick once a BACKGROUND_HZ slot (their rows land in
one frame), the timer paused while nothing waits. The clock is the test's."""

from __future__ import annotations

from agentdeck.ui.widgets.pane_beat import BACKGROUND_HZ, REFRESH_HZ, PaneBeat


class Timer:
    def __init__(self, callback) -> None:
        self.callback, self.paused = callback, True

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False


class Owner:
    """What the beat needs of a screen: one repeating timer, made paused."""

    def set_interval(self, interval, callback, *, pause, name):
        assert interval == 1 / REFRESH_HZ and pause
        self.timer = Timer(callback)
        return self.timer


class Pane:
    def __init__(self, fast: bool) -> None:
        self.fast, self.polls = fast, 0

    def poll(self) -> None:
        self.polls += 1


def test_background_panes_draw_together_once_a_slot_and_the_selected_at_every_tick() -> None:
    now = [100.0]
    owner = Owner()
    beat = PaneBeat(owner, clock=lambda: now[0])  # type: ignore[arg-type]
    selected, left, right = Pane(fast=True), Pane(fast=False), Pane(fast=False)
    assert owner.timer.paused  # nothing waits: no wakeups
    for pane in (selected, left, right):
        beat.add(pane)
    assert not owner.timer.paused
    owner.timer.callback()  # the first tick: a new slot, every pane draws
    assert (selected.polls, left.polls, right.polls) == (1, 1, 1)
    assert owner.timer.paused  # (nothing left waiting)
    # more output within the same slot: the selected pane at once, the others at the next slot
    for pane in (selected, left, right):
        beat.add(pane)
    now[0] += 1 / REFRESH_HZ
    owner.timer.callback()
    assert (selected.polls, left.polls, right.polls) == (2, 1, 1)
    assert not owner.timer.paused  # (the two background panes wait)
    beat.add(selected)
    now[0] += 1 / REFRESH_HZ
    owner.timer.callback()
    assert (selected.polls, left.polls, right.polls) == (3, 1, 1)
    now[0] += 1 / BACKGROUND_HZ  # the next slot: both together, in one tick
    owner.timer.callback()
    assert (selected.polls, left.polls, right.polls) == (3, 2, 2)
    assert owner.timer.paused


def test_a_pane_taken_away_is_not_drawn() -> None:
    owner = Owner()
    beat = PaneBeat(owner, clock=lambda: 5.0)  # type: ignore[arg-type]
    gone = Pane(fast=False)
    beat.add(gone)
    beat.discard(gone)
    owner.timer.callback()
    assert gone.polls == 0 and owner.timer.paused
