"""The help screen (`?` or F1): every key of the screen it was opened from, the key that gives
the keyboard back from an agent's pane, and the fleet-file keys that change how the dashboard
behaves. Built from the live bindings, so a rebound key shows as it is now bound."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

FLEET_KEYS = (
    ("dashboard.keys", "rebind any key by its id: {allow: Y, zoom: 'z,f11'} "
     "(also ~/.config/agentdeck/keymap.yaml)"),
    ("dashboard.release_key", "the key that gives the keyboard back from a pane"),
    ("dashboard.agent_size", "the smallest terminal an agent gets, e.g. 100x30"),
    ("dashboard.theme", "agentdeck-dark, agentdeck-light, agentdeck-high-contrast, or a "
     "theme file of yours in ~/.config/agentdeck/themes/"),
    ("dashboard.bell", "ring the terminal bell when an agent starts waiting"),
    ("dashboard.desktop", "a desktop notification when a prompt appears"),
    ("notify.command", "a command run for each new prompt (AGENTDECK_AGENT, "
     "AGENTDECK_SUMMARY)"),
    ("dashboard.scrollback", "lines kept per pane"),
)


_KEY_NAMES = {"right_square_bracket": "]", "left_square_bracket": "[",
              "question_mark": "?", "ctrl+right_square_bracket": "ctrl+]"}


@dataclass(frozen=True)
class KeyHelp:
    keys: str  # as the footer shows them: "y", "ctrl+]", "1-9"
    what: str
    id: str = ""


def describe(bindings: Iterable[tuple[str, Binding]]) -> list[KeyHelp]:
    """One line per action, its keys joined ("space", "y", "1…9" for the menu digits) as the
    footer shows them ("]", not "right_square_bracket"); `bindings` are (key, binding) pairs as
    the screen has them now."""
    order: list[str] = []
    keys: dict[str, list[str]] = {}
    what: dict[str, str] = {}
    ids: dict[str, str] = {}
    for key, binding in bindings:
        action = binding.id or binding.action
        if action.startswith("option-"):
            action = "option-n"  # the nine menu digits are one line
            what[action] = "Pick option N of the selected prompt's menu"
        if action not in keys:
            order.append(action)
            keys[action] = []
        shown = binding.key_display or _KEY_NAMES.get(key, key)
        if shown not in keys[action]:
            keys[action].append(shown)
        if binding.id and not ids.get(action):  # agentdeck's own words over Textual's
            what[action] = binding.tooltip or binding.description
            ids[action] = binding.id
        what.setdefault(action, binding.tooltip or binding.description)
        ids.setdefault(action, "")
    out = []
    for action in order:
        pressed = keys[action]
        label = f"{pressed[0]}…{pressed[-1]}" if action == "option-n" else ", ".join(pressed)
        out.append(KeyHelp(label, what[action], "" if action == "option-n" else ids[action]))
    return out


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 100%; max-width: 100; height: 100%; max-height: 44;
        border: round $accent; border-title-color: $accent; background: $surface;
        padding: 0 1;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark,f1", "close", "close", id="close-help"),
    ]

    def __init__(self, title: str, keys: list[KeyHelp], release_key: str) -> None:
        super().__init__()
        self.title_text, self.keys, self.release_key = title, keys, release_key

    def compose(self) -> ComposeResult:
        box = VerticalScroll()
        box.border_title = f"help · {self.title_text}"
        box.border_subtitle = "Esc closes"
        with box:
            demo = self._demo_text()
            if demo is not None:
                yield Static(demo, id="help-demo")
            yield Static(self._keys_table(), id="help-keys")
            yield Static(self._pane_text(), id="help-pane")
            yield Static(self._fleet_table(), id="help-fleet")

    def _demo_text(self) -> Text | None:
        """Where the demo lives, when this dashboard shows one (it is easy to lose: a temp
        folder, named once before the dashboard covered the terminal)."""
        from agentdeck.demo import where_it_lives

        deck = getattr(self.app, "deck", None)
        said = where_it_lives(deck.ctx.state_dir) if deck is not None else None
        return Text(said + "\n", style="bold") if said else None

    def _keys_table(self) -> Table:
        table = Table(box=None, pad_edge=False, expand=True, header_style="dim")
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("what it does", ratio=1)
        table.add_column("id (dashboard.keys)", style="dim", no_wrap=True)
        for item in self.keys:
            table.add_row(item.keys, item.what, item.id)
        return table

    def _pane_text(self) -> Text:
        text = Text("\nIn an agent's pane (after i, or a click on it)", style="bold underline")
        text.append(f"\nevery key goes to the agent; {self.release_key} gives the keyboard "
                    "back to the dashboard. A mouse click on a pane types into it; the wheel "
                    "scrolls its scrollback.\n", style="")
        return text

    def _fleet_table(self) -> Table:
        table = Table(box=None, show_header=False, pad_edge=False, expand=True,
                      title="In the fleet file (agentdeck.yaml)", title_justify="left",
                      title_style="bold underline")
        table.add_column(style="bold", no_wrap=True)
        table.add_column(ratio=1)
        for key, what in FLEET_KEYS:
            table.add_row(key, what)
        return table

    def action_close(self) -> None:
        self.dismiss(None)


def _ours(node: object) -> set[str]:
    """The actions agentdeck's own classes bind on `node` (not Textual's cursor keys)."""
    return {binding.action for klass in type(node).__mro__
            if klass.__module__.startswith("agentdeck")
            for binding in klass.__dict__.get("BINDINGS", ()) if isinstance(binding, Binding)}


def screen_keys(screen: Screen[object]) -> list[tuple[str, Binding]]:
    """The (key, binding) pairs active on `screen` now — its own, its focused widget's and the
    app's, as rebound by the keymap — that agentdeck defines: the app's and the dashboard's first
    (those that win whatever has the focus — priority, as ctrl+q — before the rest), then those
    of the widget with the focus."""
    pairs = [(key, active.binding, active.node) for key, active in
             screen.active_bindings.items() if active.binding.action in _ours(active.node)
             and active.binding.action not in ("help", "app.help")]
    first = (screen.app, getattr(screen.app, "dashboard", None))
    pairs.sort(key=lambda pair: (0, not pair[1].priority) if pair[2] in first else (1, False))
    return [(key, binding) for key, binding, _ in pairs]


NAVIGATION = [
    KeyHelp("↑ ↓", "Select an agent (in the agent table) or a prompt (in the queue)"),
    KeyHelp("tab", "Move between the agent table and the approvals queue"),
    KeyHelp("enter", "On an agent: show its pane alone (as z); on a prompt: select its agent"),
    KeyHelp("ctrl+p", "The command palette: every action by name"),
]
