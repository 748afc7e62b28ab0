"""The message dialog: text typed here reaches one agent (m) or several (M) as a submitted
message, delivered the way each agent kind needs (see core.messages)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, TextArea


class MessageDialog(ModalScreen[str | None]):
    DEFAULT_CSS = """
    MessageDialog { align: center middle; }
    MessageDialog > Vertical {
        width: 80%; max-width: 100; height: auto; max-height: 80%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    MessageDialog TextArea { height: 8; }
    MessageDialog .hint { color: $text-muted; }
    MessageDialog Label { width: 100%; }  /* wraps rather than runs off the box */
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "send", priority=True),
        Binding("escape", "cancel", "cancel"),
    ]

    def __init__(self, recipients: list[str], about: str | None = None) -> None:
        """`about`: what the message is anchored to (review feedback), shown above the box."""
        super().__init__()
        self.recipients, self.about = recipients, about

    def compose(self) -> ComposeResult:
        with Vertical():
            who = ", ".join(self.recipients)
            yield Label(f"[b]message to {who}[/b]")
            if self.about:
                yield Label(self.about, id="message-about", markup=False)
            yield TextArea(id="message-text")
            yield Label("ctrl+s send · esc cancel · Enter is a newline in the message",
                        classes="hint")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_send(self) -> None:
        text = self.query_one(TextArea).text
        self.dismiss(text if text.strip() else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
