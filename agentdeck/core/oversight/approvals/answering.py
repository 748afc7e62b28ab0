"""The approvals queue: every pending permission prompt of every agent, answered once.

Entries come from two channels. The screen: the session host's detections, where a prompt is
identified by its agent and its screen signature, so a prompt that stays on screen while the
screen around it changes is still one entry, and a prompt already answered is never queued again
while it is still being erased. The hooks: Claude Code and Codex CLI hand each permission request
to the dashboard (`hook_channel`) and wait for the decision. An agent shows one prompt at a time,
so each agent has at most one entry, whichever channel saw the prompt first: Claude Code draws its
dialog while its hook waits (both channels see it), Codex asks its hook first and draws the dialog
only when the hook declines. A hook that gives up hands its entry to the screen, age kept.

An answer goes through the hook while it waits (exact, whatever the screen shows); otherwise as
keys, and only after re-reading that agent's screen: if the prompt there is not the one the user
saw, the answer is refused (`StaleAnswer`) instead of landing in whatever is on screen now.
Every decision, by key or by rule, is appended to an audit log (JSONL).
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from agentdeck.core.agents.sessions import SessionHost, poll_until
from agentdeck.core.errors import OperationError
from agentdeck.core.fleet.spec import ApprovalRule
from agentdeck.core.oversight.approvals.hooks import HookChannel
from agentdeck.core.oversight.approvals.screen import SETTLE_WINDOW, ScreenChannel
from agentdeck.core.oversight.queue_records import (
    ALLOW,
    ALWAYS,
    DENY,
    WITHDRAWN,
    Decision,
    Entry,
    QueueView,
    StaleAnswer,
    keys_for,
    moved_above,
    now_iso,
    same_prompt,
)
from agentdeck.core.oversight.rules import decide
from agentdeck.core.screen.detect import Prompt
from agentdeck.core.screen.detect.menus import STEP

__all__ = ["ALLOW", "ALWAYS", "DENY", "SETTLE", "SETTLE_WINDOW", "WITHDRAWN", "ApprovalQueue",
           "Decision", "Entry", "OperationError", "QueueView", "StaleAnswer"]

# a menu answered with arrows: how long each key may take to show before the next goes anyway
STEP_WAIT = 2.0
# Claude Code ignores keys that reach a dialog in its first moments (against typed-ahead
# approvals): keys go no sooner than this after the prompt was first seen
SETTLE = 0.3
# an answer the agent did not take (the same prompt still drawn this long after) is queued again;
# a Node CLI on a loaded machine took more than 2 s to take a key (Qwen Code, four real CLIs on
# two cores: its answered dialog was queued again, then withdrawn)
TAKEN_WITHIN = 5.0
# the same prompt asked again where the answered one stood draws an equal detection, so no event
# says so: looks at these moments after an answer find it. Not sooner than half a second: a
# look reads the screen as it stands, and an agent may draw its answered dialog below its
# first lines of reply for a frame (Claude Code did, to a look at 0.1 s: its denied dialog was
# queued and answered again, seven real agents in e2e); the watcher's own looks skip such
# frames
REASKED_LOOKS = (0.5, 2.0)


class ApprovalQueue(ScreenChannel, HookChannel):
    """The channels (screen.py, hooks.py) over one state (state.py), and the answering: by the
    hook while it waits, else by keys after re-reading the screen."""

    def __init__(self, host: SessionHost, audit_path: Path | None,
                 rules: Sequence[ApprovalRule] = (), roles: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(host, audit_path, rules, roles, clock)
        self._unsubscribe = host.subscribe(self._on_event)
        host.route_permissions(self)  # (ACP agents' requests: hooks.HookChannel)
        for info in host.sessions():
            self._update(info.name, info.detection.prompt)

    def close(self) -> None:
        self._unsubscribe()
        with self._lock:
            self._closed = True
            hooks = list(self._hooks.values())
            self._hooks.clear()
            timers = [*self._checks, *([self._sweeper] if self._sweeper else [])]
            self._checks.clear()
            self._sweeper = None
        for timer in timers:  # nothing of a closed queue runs later (its host may be gone)
            timer.cancel()
        for hook in hooks:  # no dashboard any more: let each agent ask in its own screen
            hook.reply(None)

    # -- answering ----------------------------------------------------------------------------
    def answer(self, entry_id: int, decision: str, by: str = "key",
               origin: Mapping[str, str] | None = None) -> Decision:
        """`origin`: where the user answered from, for the audit line (Decision.origin)."""
        with self._lock:
            settle = 0.0
            if entry_id not in self._hooks and entry_id in self._seen_at:
                settle = SETTLE - (self.clock() - self._seen_at[entry_id])
        if settle > 0:
            time.sleep(settle)  # not under the lock: the detector thread goes on meanwhile
        with self._lock:
            entry = self._pending.get(entry_id)
            if entry is None:
                raise StaleAnswer("that prompt was already answered or has gone")
            hook = self._hooks.get(entry_id)
            screen = self._screen.get(entry_id)
            menu_option = decision.startswith("option ")  # a menu's option: keys only
            picks = getattr(hook, "option_for", None)  # an ACP request: its options by id
            if picks is not None:
                if picks(decision) is None:
                    offered = ", ".join(f"{i}: {label}" for i, (label, _) in
                                        enumerate(entry.prompt.options, 1))
                    raise OperationError(f"{entry.agent} offers no '{decision}' for this "
                                         f"request (its options: {offered})")
                if menu_option:
                    decision = f"{decision}: {picks(decision).name}"
                menu_option = False
            if hook is not None and not menu_option and (
                    decision != ALWAYS or hook.offers_always or screen is None):
                if decision == ALWAYS and not hook.offers_always:
                    raise OperationError(f"{entry.agent} offers no 'allow always' for this "
                                         "prompt; use y (allow once) or n (deny)")
                if hook.reply(decision.split(":")[0] if picks is not None else decision):
                    # (a question the session host asks itself, e.g. a budget: its own "via")
                    record = self._finish(entry, decision, by, getattr(hook, "via", "hook"),
                                          origin=origin, extra=getattr(hook, "audit", None))
                    return self._done(record)
                del self._hooks[entry_id]  # it gave up just now: the screen is left
                if screen is None:
                    self._handover[entry_id] = self.clock()
                    raise StaleAnswer(f"{entry.agent}: its hook stopped waiting before the "
                                      "answer arrived; answer again when its own prompt shows")
            if screen is None:
                self._drop(entry_id, "its hook had gone and no prompt was drawn")
                self._notify()
                raise StaleAnswer(f"{entry.agent}: that prompt is no longer waiting; "
                                  "nothing was sent")
            info = self.host.info(entry.agent)
            now_on_screen = self.host.redetect(entry.agent).prompt
            if info.process != "running" or now_on_screen is None or not same_prompt(
                    now_on_screen, screen):
                if self._typed.get(entry_id):
                    # the user answered it in its pane, and the look that would have seen it
                    # go had not come yet (a streaming agent's screen is read every 150 ms)
                    self._leave(entry_id, "typed")
                else:
                    self._drop(entry_id, "no longer on its screen when answered")
                self._notify()
                raise StaleAnswer(f"{entry.agent}: that prompt is no longer on its screen; "
                                  "nothing was sent")
            # the keys as the prompt stands now (a menu's highlight may have moved)
            screen = self._screen[entry_id] = now_on_screen
            keys, decision = keys_for(entry.agent, screen, decision)
            before = self._lines(entry.agent)  # (before the keys: their echo is an effect)
            self._type(entry.agent, keys)
            self._keyed[entry.agent] = (entry.kind, entry.summary, self.clock())
            record = self._finish(entry, decision, by, "screen", keys.replace(STEP, ""),
                                  before, origin)
        # (the same prompt asked again where the old one stood draws an equal detection: no
        # event says so, these looks do)
        answered = self._answered.get(entry.agent)
        for delay in REASKED_LOOKS:
            self._later(delay, self._check_taken, record, answered, False)
        self._later(TAKEN_WITHIN, self._check_taken, record, answered, True)
        return self._done(record)

    def _type(self, agent: str, keys: str) -> None:
        """Write an answer's keys; a menu's arrow keys and its Enter go one at a time, each
        after the screen showed the last (a program reading them in one piece may drop some)."""
        parts = keys.split(STEP)
        for i, part in enumerate(parts):
            before = self.host.snapshot(agent) if i < len(parts) - 1 else None
            self.host.write(agent, part.encode())
            if before is not None:
                poll_until(functools.partial(self._moved, agent, before), STEP_WAIT)

    def _moved(self, agent: str, before: list[str]) -> bool:
        return self.host.snapshot(agent) != before

    def _check_taken(self, record: Decision, mine: tuple[Prompt, list[str]] | None,
                     last: bool) -> None:
        """If the prompt is still drawn as it was answered: asked again (the screen moved
        above it: a new occurrence, queued), or — at the `last` look — ignored by the agent
        (unchanged: it goes back in the queue rather than waiting forever behind an answer
        never taken)."""
        agent = record.entry.agent
        with self._lock:
            # (this answer's occurrence, not a later one's: the agent may have asked again,
            # and been answered again, since)
            if mine is None or self._answered.get(agent) is not mine or (
                    self._current(agent) is not None):
                return
            signature = mine[0].signature
        try:
            prompt = self.host.redetect(agent).prompt
        except (KeyError, OSError):
            return
        with self._lock:
            if prompt is None or prompt.signature != signature or (
                    self._answered.get(agent) is not mine):
                return
            if moved_above(mine[1], self._lines(agent), prompt):
                if self._held(agent, prompt, mine):
                    return  # (an acknowledgement above the dialog, for a frame: looked at again)
                self._forget_answered(agent)  # asked again: _update queues the new occurrence
            elif last:
                self._forget_answered(agent)
                again = Decision(record.entry, "not taken by the agent", "agent", now_iso(),
                                 why="its prompt was still drawn, unchanged; queued again")
                self._record(again)
            else:
                return
        self._update(agent, prompt)

    def _finish(self, entry: Entry, decision: str, by: str, via: str,
                keys: str = "", before: list[str] | None = None,
                origin: Mapping[str, str] | None = None,
                extra: Mapping[str, str] | None = None) -> Decision:
        """`before`: the agent's screen just before the answer's keys went."""
        screen = self._screen.get(entry.id)
        self._forget(entry.id)
        if via == "hook":
            self._hook_done[entry.agent] = (entry.prompt, self.clock())
        if screen is not None:  # still drawn until the agent takes the answer: not a new one
            self._answered_gone.pop(entry.agent, None)
            self._answered[entry.agent] = (screen, before if before is not None
                                           else self._lines(entry.agent))
        record = Decision(entry, decision, by, now_iso(), via, keys=keys,
                          origin=dict(origin or {}), extra=dict(extra or {}))
        self._record(record)
        return record

    def _done(self, record: Decision) -> Decision:
        self._notify()
        return record

    def _apply_rules(self, entry: Entry) -> None:
        # a bash request is judged on its parsed command line (oversight.rules)
        rule = decide(self.rules, entry.agent, self.roles.get(entry.agent, "worker"),
                      entry.prompt)
        if rule is None:
            return
        decision = ALLOW if rule.decision == "allow" else DENY

        def apply(decision: str = decision, by: str = f"rule {rule.where}") -> None:
            with contextlib.suppress(OperationError):  # gone already: nothing to do
                self.answer(entry.id, decision, by=by)

        # off the detector's thread: an answer by keys may wait for the prompt to settle
        threading.Thread(target=apply, daemon=True).start()
