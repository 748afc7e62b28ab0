"""ConversationPane: an ACP agent's pane — its conversation laid out by agentdeck (messages,
its plan, tool calls as cards with their status, output and diffs) at the pane's own width, so
it reads the same at any size (no agent's TUI to re-wrap).

It is a TerminalPane whose screen is not the agent's terminal but a page drawn from the
conversation the session host keeps (`SessionHost.conversation`): in a worker, when the agent's
log moved or the pane changed width, what changed since the version the pane holds is fetched
(`conversation_since`: only that crosses a daemon's socket) and merged, the items it changed
laid out again with Rich (the others' text is kept, by version and width), and the page fed to
an emulator of the pane's size, drawn through the pane's Line API machinery like any screen
(viewport, borders, typing mode). `i` types a prompt (a line, sent at Enter; Esc cancels the
turn); what is typed shows at the bottom, as the session host holds it.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.text import Text
from textual import work

from agentdeck.core.agents.acp.conversation import (
    Conversation,
    Item,
    ToolCard,
    conversation_since,
    mark,
)
from agentdeck.core.agents.sessions import SessionHost, TerminalView
from agentdeck.core.errors import AgentdeckError
from agentdeck.core.screen.terminal import make_emulator
from agentdeck.ui.widgets.terminal_pane import TerminalPane

STATUS_STYLE = {"pending": "yellow", "in_progress": "blue", "completed": "green",
                "failed": "red"}
OUTPUT_LINES = 12  # of a card's output, its last lines
DIFF_LINES = 16  # of a card's diffs
HISTORY = 5000  # rows of the laid-out conversation kept above the pane (its scrollback)


def card(conv: Conversation, tool: ToolCard) -> RenderableType:
    """A tool call as a card: title, kind and status; its diffs; its output's last lines."""
    parts: list[RenderableType] = []
    for diff in tool.diffs:
        added, removed = diff.counts()
        parts.append(Text(f"{diff.path}  +{added} -{removed}", style="bold"))
        body = Text()
        for n, line in enumerate(diff.lines()[:DIFF_LINES]):
            style = ("green" if line.startswith("+") else "red" if line.startswith("-")
                     else "cyan" if line.startswith("@@") else "")
            body.append(("\n" if n else "") + line, style=style)
        parts.append(body)
    if not tool.diffs and tool.paths:
        parts.append(Text(", ".join(tool.paths), style="dim"))
    output = conv.outputs(tool).rstrip("\n").splitlines()
    if output:
        shown = output[-OUTPUT_LINES:]
        if len(output) > len(shown):
            parts.append(Text(f"… {len(output) - len(shown)} lines above", style="dim"))
        parts.append(Text("\n".join(shown), style="dim"))
    colour = STATUS_STYLE.get(tool.status, "white")
    return Panel(Group(*parts) if parts else Text(""), border_style=colour,
                 title=Text(f"{mark(tool.status)} {tool.title}", style=f"bold {colour}"),
                 title_align="left", subtitle=f"{tool.kind} · {tool.status.replace('_', ' ')}",
                 subtitle_align="right", padding=(0, 1))


def item_renderable(conv: Conversation, item: Item) -> RenderableType | None:
    if item.role == "user":
        return Text.assemble(("› ", "bold cyan"), (item.text.strip(), "bold"))
    if item.role == "agent":
        return Text(item.text.strip())
    if item.role == "thought":
        return Text(item.text.strip(), style="dim italic")
    if item.role == "note":
        return Text(f"agentdeck: {item.text}", style="yellow")
    return card(conv, item.tool) if item.tool is not None else None


def tail(conv: Conversation, typing: str | None) -> list[RenderableType]:
    """What follows the items: the plan where it stands now, the line being typed."""
    out: list[RenderableType] = []
    if conv.plan:
        steps = Text()
        for i, step in enumerate(conv.plan):
            style = {"completed": "green", "in_progress": "bold"}.get(step.status, "dim")
            steps.append(f"{mark(step.status)} {step.content}" + ("\n" * (i < len(conv.plan) - 1)),
                         style=style)
        out.append(Panel(steps, title="plan", title_align="left", border_style="magenta",
                         padding=(0, 1)))
    if typing is not None:
        out.append(Text.assemble(("› ", "bold cyan"), typing, ("▏", "reverse")))
    return out


def printed(renderable: RenderableType | None, cols: int) -> str:
    """A renderable as the terminal text Rich prints for it at `cols`."""
    if renderable is None:
        return ""
    buffer = io.StringIO()
    console = Console(file=buffer, width=cols, force_terminal=True, color_system="truecolor",
                      legacy_windows=False, emoji=False, highlight=False)
    console.print(renderable)
    return buffer.getvalue()


# an item's printed text by its index: (conversation id, its version, cols) it was printed at
Printed = dict[int, tuple[tuple[str, int, int], str]]


def page(conv: Conversation, typing: str | None, cols: int, rows: int,
         kept: Printed | None = None) -> TerminalView:
    """The laid-out conversation as a screen of (cols, rows), its end at the bottom; an item
    printed before at this width and unchanged since is taken from `kept` (which keeps what
    is printed now)."""
    kept = {} if kept is None else kept
    parts = []
    for n, item in enumerate(conv.items):
        key = (conv.id, item.v, cols)
        hit = kept.get(n)
        if hit is None or hit[0] != key:
            hit = kept[n] = (key, printed(item_renderable(conv, item), cols))
        parts.append(hit[1])
    parts += [printed(r, cols) for r in tail(conv, typing)]
    text = "".join(parts).rstrip("\n")
    view = TerminalView(make_emulator(cols, rows, HISTORY, archive=False))
    with view as emulator:
        emulator.feed(b"\x1b[?25l" + text.replace("\n", "\r\n").encode())
        emulator.take_dirty()
    view.bump()
    return view


class ConversationPane(TerminalPane):
    """The pane of an ACP agent (channel: acp)."""

    DEFAULT_CSS = """
    ConversationPane { border: round $primary 60%; }
    """

    def __init__(self, host: SessionHost, agent: str, release_key: str,
                 send: Callable[[str, bytes], None], *, id: str | None = None) -> None:
        super().__init__(host, agent, release_key, self._typed, id=id)
        self._forward = send
        self._page: TerminalView | None = None
        self._wanted: tuple[int, int, int] = (-1, 0, 0)  # (log version, cols, rows) asked for
        self.typing_text = ""  # the line being typed, as the session host holds it
        self._source: TerminalView | None = None  # the agent's log the page was made for
        self._plain = False  # no conversation to lay out: the log is shown as it is
        self._conv: Conversation | None = None  # as of the last fetch (the worker's alone)
        self._printed: Printed = {}  # its items' text as last laid out

    def _typed(self, agent: str, data: bytes) -> None:
        """Keys typed in the pane go to the agent (a line is a prompt at Enter); what is typed
        is echoed here, at the bottom of the page."""
        self._forward(agent, data)
        if data.startswith(b"\x1b") and len(data) > 1:
            return  # an arrow or function key: not part of the line
        text = self.typing_text
        for char in data.decode("utf-8", "replace"):
            if char in "\r\n" or char in "\x1b\x03":
                text = ""
            elif char in "\x7f\b":
                text = text[:-1]
            elif char.isprintable():
                text += char
        self.typing_text = text
        self._wanted = (-1, 0, 0)
        self.poll()

    def live_view(self) -> TerminalView | None:
        source = super().live_view()  # the agent's log: its version says the talk moved
        if source is not self._source:  # a session anew (a restart): its talk, if it has one
            self._source, self._plain = source, False
        if self._plain:
            return source
        size = self.content_size
        if source is not None and size.width > 2 and size.height > 0:
            wanted = (source.version, size.width, size.height)
            if wanted != self._wanted:
                self._wanted = wanted
                self._lay_out(*wanted)
        return self._page

    @work(thread=True, exclusive=True, group="conversation", exit_on_error=False)
    def _lay_out(self, version: int, cols: int, rows: int) -> None:
        conv = self._fetch()
        if conv is None:  # no conversation kept (a session restored from its transcript)
            self.app.call_from_thread(self._show_log)
            return
        typing = self.typing_text if self.has_focus else None
        laid = page(conv, typing, cols, rows, self._printed)
        self.app.call_from_thread(self._laid_out, laid)

    def _fetch(self) -> Conversation | None:
        """The conversation now: what changed since the one held, merged into it (the whole
        of it when that is another: the agent restarted)."""
        conv = self._conv
        try:
            for since in ((conv.version, 0) if conv is not None else (0,)):
                wire = conversation_since(self.host, self.agent, since)
                if wire is None:
                    break
                if conv is not None and since and conv.merge(wire):
                    return conv
                if not since:
                    self._conv = Conversation.from_wire(wire)
                    return self._conv
        except (KeyError, OSError, ValueError, AgentdeckError):  # (gone, or its host is)
            pass
        self._conv = None
        return None

    def _show_log(self) -> None:
        """Its log is all there is: shown as any agent's screen."""
        self._plain = True
        self.poll()

    def _laid_out(self, view: TerminalView) -> None:
        self._page = view
        self.poll()

    def sync_size(self) -> None:
        self._wanted = (-1, 0, 0)  # laid out again at the new width
        super().sync_size()

    def on_focus(self) -> None:
        self._wanted = (-1, 0, 0)  # the typing line shows
        super().on_focus()

    def on_blur(self) -> None:
        self._wanted = (-1, 0, 0)
        super().on_blur()
