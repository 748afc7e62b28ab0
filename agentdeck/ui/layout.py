"""How the dashboard arranges itself by window size, designed for 80x24 up to 300x80 and a
phone's browser:

- wide (160 columns and more): the agent table beside a grid of panes (from 240 columns, wide
  enough for every column whole);
- medium (110-159): a narrower sidebar whose table keeps the name, state and port (the selected
  agent's every value is written out whole under it) beside the grid;
- narrow (60-109): no sidebar: a strip of agent names and states, the approvals queue, and one
  pane at a time (the selected agent's); `b` shows the agent table;
- phone (below 60): the strip, the queue and the agent table; `z` shows the selected pane.

Where one pane is shown at a time (narrow; a phone, which then shows it in the table's place),
it is, while prompts wait, the agent of the highlighted request: what `y` answers is in view.

The approvals queue and the waiting count are visible in every one. An agent's terminal size
never follows the queue's height or the grid: it is the area a zoomed pane has for this
window (never below `dashboard.agent_size`), so a new prompt or a narrow window never re-wraps
an agent's screen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.dom import NoScreen
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer

from agentdeck.core.agents.sessions import home_size

BREAKPOINTS = [(0, "-phone"), (60, "-narrow"), (110, "-medium"), (160, "-wide"), (240, "-huge")]
HEIGHT_BREAKPOINTS = [(0, "-short"), (34, "-tall")]
# the sidebar's width beside the panes (plus its border): from 240 columns the whole table;
# between 160 and 240 it grows with the window (the radar and the state get the room)
SIDEBAR = {"-huge": 100, "-wide": 58, "-medium": 40}
WIDE_GROWTH = 3  # the wide sidebar takes one column in this many beyond 160
CHROME_ROWS = 3  # the header, the status line and the footer
# keys the footer leaves out below the medium width (they stay bound; `?` lists them all)
SECONDARY = frozenset({"toggle_mark", "spawn", "message", "review"})
# the layouts that show one pane at a time: while prompts wait, the highlighted request's agent
ONE_PANE = frozenset({"-narrow", "-phone"})
ANSWERS = frozenset({"answer"})


def mode_for(width: int) -> str:
    mode = BREAKPOINTS[0][1]
    for at, name in BREAKPOINTS:
        if width >= at:
            mode = name
    return mode


def sidebar_width(width: int) -> int | None:
    """The sidebar's width beside the panes at this window width; None: no sidebar beside
    them (narrow, phone)."""
    mode = mode_for(width)
    if mode == "-wide":
        return SIDEBAR[mode] + (width - BREAKPOINTS[3][0]) // WIDE_GROWTH
    return SIDEBAR.get(mode)


def pane_area(size: tuple[int, int]) -> tuple[int, int]:
    """The area a zoomed pane has in a window of `size`."""
    width, height = size
    sidebar = sidebar_width(width)
    if sidebar is not None:
        return width - sidebar - 1, height - CHROME_ROWS
    return width, height - CHROME_ROWS - 1  # the strip above it


def footer_fit(width: int, waiting: bool) -> tuple[frozenset[str], bool]:
    """The footer at this window width: the actions it leaves out, and whether compact."""
    hidden = set() if waiting else set(ANSWERS)
    mode = mode_for(width)
    if mode in ("-narrow", "-phone"):
        hidden |= SECONDARY
    if mode != "-narrow" and not (mode == "-phone" and waiting):
        hidden.add("toggle_agents")  # the table is in view already (a phone: but for a prompt)
    if mode == "-phone":  # the queue has buttons for the answers; a phone has no keys
        hidden |= ANSWERS | {"enter_pane"}
    return frozenset(hidden), width < 110


def agent_size(size: tuple[int, int], floor: tuple[int, int]) -> tuple[int, int]:
    return home_size(pane_area(size), floor)


class DeckFooter(Footer):
    """The footer, showing only the keys that matter now: the answers only while a prompt
    waits, the secondary keys only where there is room; `? help` always."""

    def __init__(self, hidden: frozenset[str] = frozenset(), compact: bool = False) -> None:
        """`hidden`, `compact`: as `fit` sets them (known at compose: the first frame shows
        the keys of the window it is drawn in)."""
        super().__init__(show_command_palette=True, compact=compact)
        self.hidden = hidden
        self._drawn: tuple[object, ...] | None = None  # what the keys show, as last composed
        self._pending = False
        self._settled = False

    def fit(self, hidden: frozenset[str], compact: bool) -> None:
        if (hidden, compact) != (self.hidden, self.compact):
            self.hidden, self.compact = hidden, compact
            self._recompose_soon()

    def bindings_changed(self, screen: Screen[object]) -> None:
        # Textual's footer rebuilds every key whenever any binding may have changed (each
        # focus move, each refresh_bindings): dozens of times before the first frame. Only
        # when what it shows changed, here.
        # (while the app has no focus, Textual leaves the keys as they were — but draws them
        # until they are the first focus's, which a browser that has not focused the page yet
        # needs: the keys composed at mount are only the app's)
        self._bindings_ready = True
        if (screen.app.app_focus or not self._settled) and self.is_attached and (
                screen is self.screen):
            self._recompose_soon()

    def _recompose_soon(self) -> None:
        if not self._pending:
            self._pending = True
            # (then in the footer's own task: its keys bind to it, not to the screen)
            self.call_after_refresh(self.call_later, self._recompose_if_changed)

    class Settled(Message):
        """The footer shows the keys of the screen's first focus: the first frame is whole."""

    async def _recompose_if_changed(self) -> None:
        self._pending = False
        # (its screen may have closed meanwhile)
        if self.is_attached and self._bindings_ready and self._keys() != self._drawn:
            await self.recompose()
        if not self._settled and self.is_attached and self.screen.focused is not None:
            self._settled = True
            self.post_message(self.Settled())

    def _keys(self) -> tuple[object, ...]:
        """The keys shown, each as what draws it, and how."""
        keys: dict[str, tuple[object, ...]] = {}
        for _, binding, enabled, tooltip in self.screen.active_bindings.values():
            action = binding.action.split("(")[0]
            if binding.show and action not in self.hidden and binding.action not in keys:
                keys[binding.action] = (binding.key, self.app.get_key_display(binding),
                                        binding.description, enabled, tooltip)
        palette = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
        return (tuple(keys.items()), self.compact, palette is not None and palette[2])

    def compose(self) -> ComposeResult:
        # the keys there are now, in the first frame: Textual's footer waits for the screen's
        # first bindings signal, which comes a few refreshes later
        try:
            self._drawn = self._keys()
        except NoScreen:
            return
        self._bindings_ready = True
        for key in super().compose():  # Textual's keys (each knows its action), less ours hidden
            if str(getattr(key, "action", "")).split("(")[0] not in self.hidden:
                yield key
