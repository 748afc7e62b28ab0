"""A yes/no question the dashboard asks before something that cannot be taken back."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label


class Confirm(ModalScreen[bool]):
    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Vertical {
        width: 80%; max-width: 80; height: auto; border: round $warning;
        background: $surface; padding: 0 1;
    }
    Confirm Label { width: 100%; }  /* the question wraps rather than runs off the box */
    Confirm .hint { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "yes"),
        Binding("n,escape", "answer(False)", "no"),
    ]

    def __init__(self, question: str, detail: str) -> None:
        super().__init__()
        self.question, self.detail = question, detail

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"[b]{self.question}[/b]")
            yield Label(self.detail)
            yield Label("y yes · n or Esc no", classes="hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
