"""The hook channel of the approvals queue: Claude Code and Codex CLI hand each permission
request to the dashboard (`hook_channel`) and wait for the decision.

An agent shows one prompt at a time, so a request joins the entry its dialog already made
(Claude Code draws its dialog while its hook waits) or makes one (Codex asks its hook first and
draws the dialog only when the hook declines). A hook that gives up hands its entry to the
screen, age kept, for HANDOVER_GRACE (`state.QueueState._expire_handovers`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agentdeck.core.oversight.approvals.state import QueueState
from agentdeck.core.oversight.hook_channel import HookRequest
from agentdeck.core.oversight.queue_records import Decision, Entry, now_iso, same_request
from agentdeck.core.screen.detect import Prompt


class HookChannel(QueueState):
    def hook_request(self, hook: HookRequest) -> None:
        """A hook is waiting for a decision (called on the hook connection's thread)."""
        auto: Entry | None = None
        superseded: HookRequest | None = None
        late = False
        with self._lock:
            current = self._current(hook.agent)
            keyed = self._keyed.get(hook.agent)
            if current is None and keyed is not None and self.clock() - keyed[2] < 5.0 and (
                    same_request(keyed[:2], hook.prompt)):
                late = True  # its dialog was answered by keys already
            elif current is not None:
                superseded = self._hooks.get(current.id)
                self._hooks[current.id] = hook
                self._handover.pop(current.id, None)
                # the hook's summary is exact (no wrapping, no truncation): show that one
                self._pending[current.id] = replace(current, prompt=hook.prompt)
            else:
                auto = self._add(hook.agent, hook.prompt)
                self._hooks[auto.id] = hook
        if late or superseded is not None:
            (hook if late else superseded).reply(None)  # type: ignore[union-attr]
        if late:
            return
        self._notify()
        # (the session host's own questions, a budget's, are never answered by a rule)
        if auto is not None and hook.prompt.agent != "agentdeck":
            self._apply_rules(auto)

    def hook_gone(self, hook: HookRequest) -> None:
        """The hook stopped waiting without an answer: the agent will ask on its screen."""
        with self._lock:
            cid = next((i for i, h in self._hooks.items() if h is hook), None)
            if cid is None:
                return
            del self._hooks[cid]
            if cid not in self._screen:
                self._handover[cid] = self.clock()
        self._notify()

    def hook_withdrawn(self, hook: Any, why: str) -> None:
        """A request the agent itself took back (an ACP turn cancelled): its entry leaves at
        once, withdrawn, audited with why and the channel's fields."""
        with self._lock:
            cid = next((i for i, h in self._hooks.items() if h is hook), None)
            if cid is None:
                return
            self._drop(cid, why, getattr(hook, "via", "hook"), getattr(hook, "audit", None))
        self._notify()

    def refused(self, agent: str, kind: str, summary: str, why: str, via: str) -> None:
        """Something an agent asked agentdeck for and was refused without asking anyone (an
        ACP agent's write outside its worktree): audited, never queued."""
        prompt = Prompt(kind=kind, summary=summary, allow="", deny="", agent=agent)
        entry = Entry(0, agent, prompt, self.clock(), now_iso())
        with self._lock:
            self._record(Decision(entry, "refused", "agentdeck", now_iso(), via, why=why))
