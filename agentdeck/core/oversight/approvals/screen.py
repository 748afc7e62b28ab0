"""The screen channel of the approvals queue: prompts the session host's detectors read on the
agents' screens.

A prompt is identified by its agent and its screen signature, so a prompt that stays on screen
while the screen around it changes is still one entry, and a prompt already answered is never
queued again while it is still being erased (`_not_answered`). A prompt off screen leaves the
queue only after SETTLE_WINDOW with no resize (`sweep`); keys the user typed into the pane while
it was drawn answer it (`typed`).
"""

from __future__ import annotations

import threading
import time

from agentdeck.core.agents.sessions import Event
from agentdeck.core.oversight.approvals.state import QueueState
from agentdeck.core.oversight.hook_channel import HookRequest
from agentdeck.core.oversight.queue_records import (
    WITHDRAWN,
    Decision,
    Entry,
    meaning_of,
    moved_above,
    now_iso,
    printable,
    same_prompt,
)
from agentdeck.core.screen.detect import Prompt

# a prompt no longer on screen leaves the queue only once it has stayed away this long with no
# resize of that agent meanwhile: a redraw, a resize or a half-drawn frame hides a prompt for a
# moment, and an entry dropped then (and queued again after) would be a false "answered"
SETTLE_WINDOW = 1.5
# after a hook answered, a dialog for the same request drawn this soon is that request's
HOOK_ECHO = 5.0


class ScreenChannel(QueueState):
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
            elif event.info.channel != "acp":  # (an ACP agent's requests come by protocol)
                self._update(event.name, event.info.detection.prompt)

    def _ended(self, agent: str) -> None:
        """The agent's process is gone: whatever it asked leaves the queue at once — answered
        in its pane when the user typed there while it was drawn (an agent may take the answer
        and exit before its screen is read again), else withdrawn. What its next process (a
        restart, an agent made again under its name) asks is new, whatever its text."""
        hook = None
        with self._lock:
            for memory in (self._answered, self._hook_done, self._keyed, self._answered_gone,
                           self._reask_seen):
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
            self._reask_seen.pop(agent, None)  # (a dialog drawn again later is held anew)
            gone = self._answered_gone.setdefault(agent, now)
            if now - gone >= SETTLE_WINDOW:
                self._forget_answered(agent)
            return None
        if same_prompt(prompt, answered[0]):
            moved = moved_above(answered[1], self._lines(agent), prompt)
            if not moved and now - self._answered_gone.get(agent, now) < SETTLE_WINDOW:
                self._answered_gone.pop(agent, None)  # (a frame drawn in part: it is back)
                return None
            if moved and self._held(agent, prompt, answered):
                return None
        self._forget_answered(agent)
        return prompt

    def _held(self, agent: str, prompt: Prompt, answered: tuple[Prompt, list[str]]) -> bool:
        """Whether the answered dialog, drawn below new lines, must stay a moment longer before
        it is the question asked again: an agent that writes its answer's acknowledgement above
        the dialog before taking the dialog down (Codex) shows that for a frame
        (detect.ANSWER_HOLDS). Looked at again when the hold ends, on a timer: a dialog really
        asked again stands still (its agent waits), and no output may come to look again."""
        from agentdeck.core.screen.detect import ANSWER_HOLDS

        hold = ANSWER_HOLDS.get(prompt.agent, 0.0)
        if not hold:
            return False
        now = time.monotonic()  # (the agent's frames: real time, whatever the queue's clock)
        since = self._reask_seen.setdefault(agent, now)
        if since == now:
            self._later(hold, self._look_again, agent, answered)
        return now - since < hold

    def _look_again(self, agent: str, answered: tuple[Prompt, list[str]]) -> None:
        with self._lock:
            if self._answered.get(agent) is not answered:
                return  # queued meanwhile, or answered again
        try:
            prompt = self.host.redetect(agent).prompt
        except (KeyError, OSError):
            return
        self._update(agent, prompt)

    def _forget_answered(self, agent: str) -> None:
        self._answered.pop(agent, None)
        self._answered_gone.pop(agent, None)
        self._reask_seen.pop(agent, None)

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
