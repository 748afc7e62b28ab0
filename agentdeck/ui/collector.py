"""Python's cyclic garbage collector in the dashboard process.

Paused while the dashboard starts: what the start makes (modules, classes, widgets) lives as
long as the dashboard, and collecting meanwhile only held the first frame back (~10 % of it).
Once the first frame is whole, that is frozen (never traversed again: every full collection
did it for nothing), and young collections run every 10,000 new objects rather than 700:
streaming panes make and drop strips and segments by the thousand a second, freed as they
go, few of them in cycles. With ten agents printing the collector took a tenth of a core
(1.24 s of every 12.5: 0.25 young, 0.30 middle, 0.73 full; bench/streaming.py's agentdeck
contender, timed with gc callbacks); 0.38 s with these.
"""

from __future__ import annotations

import gc

YOUNG = 10_000  # new objects between young collections
MIDDLE, OLD = 20, 100  # young (then middle) collections between the next generation's


def pause() -> None:
    gc.disable()


def run_as_the_dashboard() -> None:
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
    gc.enable()
