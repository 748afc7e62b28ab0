"""AgentStrip: one line of every agent's name and state, for windows too narrow for the agent
table beside the panes. The selected agent is shown reversed; a waiting one stands out. A click
on a name selects that agent."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from agentdeck.ui.widgets.agent_list import STATE_LOOK, AgentRow


class AgentStrip(Widget):
    DEFAULT_CSS = """
    AgentStrip { height: auto; padding: 0 1; }
    """
    agents: reactive[dict[str, AgentRow]] = reactive(dict, init=False, layout=True)
    selected: reactive[str | None] = reactive(None, init=False, layout=True)

    class Chosen(Message):
        def __init__(self, agent: str) -> None:
            super().__init__()
            self.agent = agent

    def render(self) -> Text:
        text = Text(no_wrap=False, overflow="fold")
        self._spans: list[tuple[int, int, str]] = []
        for name, row in self.agents.items():
            if text:
                text.append("  ")
            glyph, style = STATE_LOOK.get(row.state, (row.state, ""))
            label = f"{glyph.split()[0]} {name}"
            if row.state == "waiting":
                label += " waiting"
            start = len(text)
            text.append(label, style=f"{style} reverse" if name == self.selected else
                        style if row.state == "waiting" else "")
            self._spans.append((start, len(text), name))
        return text

    def on_click(self, event: events.Click) -> None:
        # the offset within the (possibly wrapped) line: count cells row by row
        width = max(1, self.content_size.width)
        at = event.y * width + event.x - 1  # padding 1
        for start, end, name in getattr(self, "_spans", []):
            if start <= at < end:
                self.post_message(self.Chosen(name))
                return
