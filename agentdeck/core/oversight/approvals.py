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
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from agentdeck.core.agents.sessions import Event, SessionHost, poll_until
from agentdeck.core.errors import OperationError
from agentdeck.core.fleet.spec import ApprovalRule
from agentdeck.core.oversight.hook_channel import HookRequest
from agentdeck.core.oversight.queue_records import (
    ALLOW,
    ALWAYS,
    DENY,
    WITHDRAWN,
    Decision,
    Entry,
    QueueView,
    StaleAnswer,
    append_audit,
    keys_for,
    meaning_of,
    moved_above,
    now_iso,
    printable,
    same_prompt,
    same_request,
)
from agentdeck.core.oversight.rules import decide
from agentdeck.core.screen.detect import Prompt
from agentdeck.core.screen.detect.menus import STEP

__all__ = ["ALLOW", "ALWAYS", "DENY", "WITHDRAWN", "ApprovalQueue", "Decision", "Entry",
           "QueueView", "StaleAnswer"]


# a hook that gave up leaves its entry this long for the agent to draw its own prompt
HANDOVER_GRACE = 3.0
# a prompt no longer on screen leaves the queue only once it has stayed away this long with no
# resize of that agent meanwhile: a redraw, a resize or a half-drawn frame hides a prompt for a
# moment, and an entry dropped then (and queued again after) would be a false "answered"
SETTLE_WINDOW = 1.5
# after a hook answered, a dialog for the same request drawn this soon is that request's
HOOK_ECHO = 5.0
# a menu answered with arrows: how long each key may take to show before the next goes anyway
STEP_WAIT = 2.0
# Claude Code ignores keys that reach a dialog in its first moments (against typed-ahead
# approvals): keys go no sooner than this after the prompt was first seen
SETTLE = 0.3
# an answer the agent did not take (the same prompt still drawn this long after) is queued again
TAKEN_WITHIN = 2.0



class ApprovalQueue:
    def __init__(self, host: SessionHost, audit_path: Path | None,
                 rules: Sequence[ApprovalRule] = (), roles: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.host = host
        self.audit_path = audit_path
        self.rules = tuple(rules)
        self.roles = dict(roles or {})
        self.clock = clock
        self._lock = threading.RLock()
        self._pending: dict[int, Entry] = {}
        self._screen: dict[int, Prompt] = {}  # entry id -> its prompt as drawn on screen
        self._hooks: dict[int, HookRequest] = {}  # entry id -> the agent's hook waiting on it
        self._handover: dict[int, float] = {}  # entry id -> when its hook gave up
        self._seen_at: dict[int, float] = {}  # entry id -> when its prompt was first drawn
        # agent -> the prompt answered and the screen as it stood when the answer was sent,
        # until the answer's effect is seen (invariant 7: a prompt is an occurrence): while
        # the agent has not yet taken the answer, the prompt still drawn is not a new one
        self._answered: dict[str, tuple[Prompt, list[str]]] = {}
        # when an answered prompt was last seen gone from its screen (a half-drawn frame hides
        # it for a moment: the same dialog back within SETTLE_WINDOW, the screen not moved on,
        # is still the one answered)
        self._answered_gone: dict[str, float] = {}
        self._gone: dict[int, float] = {}  # entry id -> since when its prompt is off screen
        # agent -> (request, when) answered through its hook: the dialog the agent may still
        # draw for it (Claude Code starts hook and dialog together) is not a new prompt
        self._hook_done: dict[str, tuple[Prompt, float]] = {}
        self._typed: dict[int, bytes] = {}  # entry id -> keys typed in its pane while shown
        self._resized: dict[str, float] = {}  # agent -> when its terminal last changed size
        self._sweeper: threading.Timer | None = None
        self._checks: set[threading.Timer] = set()  # answers whose taking is still to check
        self._closed = False
        # agent -> (kind, summary, when) of the last prompt answered by keys: its hook may
        # still connect afterwards (Claude Code starts hook and dialog together)
        self._keyed: dict[str, tuple[str, str, float]] = {}
        self._ids = itertools.count(1)
        self.history: deque[Decision] = deque(maxlen=200)
        self._listeners: list[Callable[[], None]] = []
        self._unsubscribe = host.subscribe(self._on_event)
        for info in host.sessions():
            self._update(info.name, info.detection.prompt)

    # -- reading ------------------------------------------------------------------------------
    def pending(self) -> list[Entry]:
        """Oldest first."""
        with self._lock:
            self._expire_handovers()
            return sorted(self._pending.values(), key=lambda e: (e.created, e.id))

    def entry_for(self, agent: str) -> Entry | None:
        with self._lock:
            return self._current(agent)

    def via_hook(self, entry_id: int) -> bool:
        """Whether the agent's hook is waiting on this entry (the answer will be exact)."""
        with self._lock:
            return entry_id in self._hooks

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call `listener` (on the thread that changed the queue) after every change; returns
        the function that stops it."""
        self._listeners.append(listener)

        def stop() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return stop

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

    def _current(self, agent: str) -> Entry | None:
        return next((e for e in self._pending.values() if e.agent == agent), None)

    # -- the screen channel -------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.kind == "resize":
            with self._lock:
                self._resized[event.name] = self.clock()
        elif event.kind == "redrawn":  # only an answered prompt's agent: asked again?
            if event.name in self._answered:
                self._update(event.name, event.info.detection.prompt)
        elif event.kind == "state":
            if event.info.process != "running":
                self._ended(event.name)
            else:
                self._update(event.name, event.info.detection.prompt)

    def _ended(self, agent: str) -> None:
        """The agent's process is gone: whatever it asked leaves the queue at once — answered
        in its pane when the user typed there while it was drawn (an agent may take the answer
        and exit before its screen is read again), else withdrawn. What its next process (a
        restart, an agent made again under its name) asks is new, whatever its text."""
        hook = None
        with self._lock:
            for memory in (self._answered, self._hook_done, self._keyed, self._answered_gone):
                memory.pop(agent, None)
            current = self._current(agent)
            if current is not None:
                hook = self._leave(current.id, "the agent exited")
        if hook is not None:
            hook.reply(None)
        if current is not None:
            self._notify()

    def typed(self, agent: str, data: bytes) -> None:
        """The user typed `data` into the agent's pane (typing mode). While a prompt of that
        agent is drawn, those keys answer it: its removal is audited as answered in the pane,
        with what the keys mean where they match the prompt's own."""
        with self._lock:
            current = self._current(agent)
            if current is not None and current.id in self._screen:
                self._typed[current.id] = self._typed.get(current.id, b"") + data
        if current is not None:
            self._update(agent, self._still_drawn(agent))

    def _still_drawn(self, agent: str) -> Prompt | None:
        try:
            info = self.host.info(agent)
        except KeyError:
            return None
        return info.detection.prompt if info.process == "running" else None

    def _update(self, agent: str, prompt: Prompt | None) -> None:
        auto: Entry | None = None
        released: HookRequest | None = None
        with self._lock:
            changed = False
            visible = self._not_answered(agent, prompt)
            done = self._hook_done.get(agent)
            if done is not None and self.clock() - done[1] > HOOK_ECHO:
                del self._hook_done[agent]
            elif done is not None and visible is not None and same_prompt(done[0], visible):
                visible = None  # the dialog of a request its hook answered already
            current = self._current(agent)
            if current is not None:
                cid = current.id
                seen = self._screen.get(cid)
                if visible is not None:
                    if seen is not None and not same_prompt(seen, visible) and (
                            cid not in self._hooks):
                        # another prompt stands where this one was: the agent moved on
                        released = self._leave(cid, "replaced by another prompt")
                        current, changed = None, True
                    else:
                        # the same prompt (drawn anew, redrawn after a resize, or first drawn
                        # while its hook waits): the entry stays, its screen form is updated
                        if seen is None:
                            self._seen_at[cid] = self.clock()
                        if seen is None or seen.signature != visible.signature:
                            self._screen[cid] = visible
                            changed = True
                        self._gone.pop(cid, None)
                        self._handover.pop(cid, None)
                elif seen is not None:  # drawn before, not now
                    if self._typed.get(cid):
                        released = self._leave(cid, "typed")  # the user answered in the pane
                        changed = True
                    elif cid not in self._gone:
                        self._gone[cid] = self.clock()
                        self._schedule_sweep()
                elif cid in self._handover:
                    changed = self._expire_handovers() or changed
                # else the hook asks before any dialog is drawn (Codex): nothing to see yet
            if visible is not None and self._current(agent) is None:
                auto = self._add(agent, visible)
                self._screen[auto.id] = visible
                self._seen_at[auto.id] = auto.created
                changed = True
        if released is not None:
            released.reply(None)
        if changed:
            self._notify()
        if auto is not None:
            self._apply_rules(auto)

    def _not_answered(self, agent: str, prompt: Prompt | None) -> Prompt | None:
        """`prompt`, unless it is the occurrence just answered, still drawn because the agent
        has not taken the answer yet. The answer's effect ends that: the prompt left the
        screen (for longer than a half-drawn frame hides it), another stands in its place, or
        the screen moved above it (the answer echoed, the question asked again below the old
        one, lines scrolled) — whatever is drawn then is a new occurrence, even with the same
        text (a retried `npm test`, a loop asking again). An answer not taken at all is queued
        again by _check_taken."""
        answered = self._answered.get(agent)
        if answered is None:
            return prompt
        now = self.clock()
        if prompt is None:
            gone = self._answered_gone.setdefault(agent, now)
            if now - gone >= SETTLE_WINDOW:
                self._forget_answered(agent)
            return None
        if same_prompt(prompt, answered[0]) and not moved_above(
                answered[1], self._lines(agent), prompt) and (
                now - self._answered_gone.get(agent, now) < SETTLE_WINDOW):
            self._answered_gone.pop(agent, None)  # (a frame drawn in part: it is back)
            return None
        self._forget_answered(agent)
        return prompt

    def _forget_answered(self, agent: str) -> None:
        self._answered.pop(agent, None)
        self._answered_gone.pop(agent, None)

    def _lines(self, agent: str) -> list[str]:
        try:
            return list(self.host.snapshot(agent))
        except (KeyError, OSError):
            return []

    def sweep(self) -> None:
        """Withdraw the entries whose prompt has stayed off screen for the settle window with
        no resize of their agent meanwhile (run on a timer; callable any time)."""
        released: list[HookRequest] = []
        left = 0
        with self._lock:
            self._sweeper = None
            if self._closed:  # a timer that fired as the queue closed
                return
            now = self.clock()
            for cid, since in list(self._gone.items()):
                entry = self._pending.get(cid)
                if entry is None:
                    self._gone.pop(cid, None)
                    continue
                quiet_since = max(since, self._resized.get(entry.agent, since))
                if now - quiet_since >= SETTLE_WINDOW:
                    left += 1
                    hook = self._leave(cid, "its prompt left the screen")
                    if hook is not None:
                        released.append(hook)
            if self._gone:
                self._schedule_sweep()
        for hook in released:
            hook.reply(None)
        if left:
            self._notify()

    def _schedule_sweep(self) -> None:
        if self._sweeper is None and not self._closed:
            self._sweeper = threading.Timer(SETTLE_WINDOW / 4, self.sweep)
            self._sweeper.daemon = True
            self._sweeper.start()

    def _leave(self, cid: int, why: str) -> HookRequest | None:
        """An entry whose prompt is gone from the screen leaves the queue: answered in the pane
        when the user typed there while it was drawn, else withdrawn by the agent. Returns its
        hook, if one waits (to be released outside the lock)."""
        entry = self._pending[cid]
        hook = self._hooks.get(cid)
        keys = self._typed.get(cid, b"")
        screen = self._screen.get(cid) or entry.prompt
        self._forget(cid)
        if keys:
            record = Decision(entry, meaning_of(keys, screen), "user", now_iso(), "pane",
                              keys=printable(keys))
        else:
            record = Decision(entry, WITHDRAWN, "agent", now_iso(), "screen", why=why)
        self._record(record)
        return hook

    # -- the hook channel ---------------------------------------------------------------------
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

    def _expire_handovers(self) -> bool:
        now = self.clock()
        stale = [cid for cid, since in self._handover.items() if now - since > HANDOVER_GRACE]
        for cid in stale:
            self._drop(cid, "its hook gave up and no prompt was drawn")
        return bool(stale)

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
            if hook is not None and not menu_option and (
                    decision != ALWAYS or hook.offers_always or screen is None):
                if decision == ALWAYS and not hook.offers_always:
                    raise OperationError(f"{entry.agent} offers no 'allow always' for this "
                                         "prompt; use y (allow once) or n (deny)")
                if hook.reply(decision):
                    # (a question the session host asks itself, e.g. a budget: its own "via")
                    record = self._finish(entry, decision, by, getattr(hook, "via", "hook"),
                                          origin=origin)
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
        self._later(TAKEN_WITHIN / 4, self._check_taken, record, answered, False)
        self._later(TAKEN_WITHIN, self._check_taken, record, answered, True)
        return self._done(record)

    def _later(self, delay: float, fn: Callable[..., None], *args: object) -> None:
        """Run `fn` on a timer thread unless the queue closes first."""
        def run() -> None:
            with self._lock:
                self._checks.discard(timer)
                if self._closed:
                    return
            fn(*args)

        timer = threading.Timer(delay, run)
        timer.daemon = True
        with self._lock:
            if self._closed:
                return
            self._checks.add(timer)
        timer.start()

    def _type(self, agent: str, keys: str) -> None:
        """Write an answer's keys; a menu's arrow keys and its Enter go one at a time, each
        after the screen showed the last (a program reading them in one piece may drop some)."""
        parts = keys.split(STEP)
        for i, part in enumerate(parts):
            before = self.host.snapshot(agent) if i < len(parts) - 1 else None
            self.host.write(agent, part.encode())
            if before is not None:
                poll_until(lambda b=before: self.host.snapshot(agent) != b, STEP_WAIT)

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
                origin: Mapping[str, str] | None = None) -> Decision:
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
                          origin=dict(origin or {}))
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

    # -- bookkeeping --------------------------------------------------------------------------
    def _add(self, agent: str, prompt: Prompt) -> Entry:
        entry = Entry(next(self._ids), agent, prompt, self.clock(), now_iso())
        self._pending[entry.id] = entry
        return entry

    def _forget(self, entry_id: int) -> None:
        self._pending.pop(entry_id, None)
        self._screen.pop(entry_id, None)
        self._hooks.pop(entry_id, None)
        self._handover.pop(entry_id, None)
        self._seen_at.pop(entry_id, None)
        self._gone.pop(entry_id, None)
        self._typed.pop(entry_id, None)

    def _drop(self, entry_id: int, why: str) -> None:
        """The entry leaves without an answer: withdrawn, audited with why."""
        entry = self._pending.get(entry_id)
        self._forget(entry_id)
        if entry is not None:
            record = Decision(entry, WITHDRAWN, "agent", now_iso(), "screen", why=why)
            self._record(record)

    def _record(self, record: Decision) -> None:
        """Every decision and every removal: in the history the dashboard shows, and in the
        audit log."""
        self.history.append(record)
        if self.audit_path is not None:
            append_audit(self.audit_path, record)

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()
