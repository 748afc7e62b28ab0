"""What the session host's and the queue's threads tell the dashboard, as Textual messages.

They reach the app through `post_message` (thread-safe). A message that has not been handled yet
is replaced by a newer one of the same kind and agent, so a flood of output queues at most one
redraw per pane, and an idle fleet costs nothing.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

from textual.message import Message
from textual.message_pump import MessagePump

from agentdeck.core.agents.sessions import Event, SessionInfo
from agentdeck.core.deck import Deck
from agentdeck.core.engine.check_results import CheckResult
from agentdeck.core.fleet.registry import AgentRecord


def relay(deck: Deck, to: MessagePump) -> list[Callable[[], None]]:
    """Tell `to` what the session host, the queue and the outbox say, as the messages below
    (post_message is thread-safe); returns what ends the host's and the queue's telling."""

    # agents whose OutputArrived is posted and not yet handled: a stream of output posts one
    # message per redraw, not one per read (each post wakes the event loop and is compared
    # with every message waiting)
    unread: set[str] = set()
    lock = threading.Lock()

    def host_event(event: Event) -> None:
        if event.kind == "state":
            to.post_message(SessionChanged(event.info))
        elif event.kind in ("output", "resize"):  # (a resize: its size label, its viewport)
            with lock:
                if event.kind == "output" and event.name in unread:
                    return
                unread.add(event.name)
            to.post_message(OutputArrived(event.name, functools.partial(read, event.name)))

    def read(name: str) -> None:
        with lock:
            unread.discard(name)

    def outbox_changed() -> None:
        to.post_message(OutboxChanged())

    def queue_changed() -> None:
        to.post_message(QueueChanged())

    deck.outbox.on_change(outbox_changed)
    return [deck.host.subscribe(host_event), deck.queue.on_change(queue_changed)]


class SessionChanged(Message):
    """An agent's session changed state (working, waiting, exited, …)."""

    def __init__(self, info: SessionInfo) -> None:
        super().__init__()
        self.info = info

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SessionChanged) and (
            message.info.name == self.info.name)


class OutputArrived(Message):
    """An agent printed something: its pane redraws on its screen's beat (pane_beat)."""

    def __init__(self, name: str, taken: Callable[[], None] = lambda: None) -> None:
        super().__init__()
        self.name = name
        self.taken = taken  # called when the pane reads it: output after that posts anew

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, OutputArrived) and message.name == self.name


class QueueChanged(Message):
    """The approvals queue changed."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, QueueChanged)


class OutboxChanged(Message):
    """A message to an agent was held or went out: the sidebar shows what is held."""


class AgentsRead(Message):
    """The registry changed (an agent made or removed by any client) and was read again."""

    def __init__(self, records: list[AgentRecord], number: int) -> None:
        super().__init__()
        self.records = records
        self.number = number  # readings are numbered as they start: the highest is the newest

    def can_replace(self, message: Message) -> bool:
        # (Textual asks this of the message it took, about the one queued after it: True drops
        # this one for that one — right only when that one is the newer reading)
        return isinstance(message, AgentsRead) and message.number > self.number


class RadarStale(Message):
    """Files changed in these agents' worktrees or branches (None: a base moved, every agent):
    the conflict radar looks again."""

    def __init__(self, names: set[str] | None) -> None:
        super().__init__()
        self.names = names


class RadarScanned(Message):
    """The conflict radar looked again: each agent's note (the agents it was asked about)."""

    def __init__(self, notes: dict[str, str]) -> None:
        super().__init__()
        self.notes = notes


class ChecksChanged(Message):
    """A check started or ended (here, or in another client): the chips are read again."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ChecksChanged)


class ChecksRead(Message):
    """The checks' results as read: each agent's chips, its results and its branch's tip."""

    def __init__(self, chips: dict[str, str], results: dict[str, dict[str, CheckResult]],
                 tips: dict[str, str | None]) -> None:
        super().__init__()
        self.chips, self.results, self.tips = chips, results, tips
