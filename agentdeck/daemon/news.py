"""What the session host daemon tells the user, dashboard open or not: a prompt waiting (the
user's notify command, the desktop, the alert channels, the dashboards' attention push), an
agent's state change worth an alert, and a notification's Allow / Deny answered through
`agentdeck serve`. Apart from the daemon's serving (daemon/server.py), which only reports to
it what happened."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agentdeck.core.agents.roster import ready_records
from agentdeck.core.agents.sessions import LocalHost, SessionInfo
from agentdeck.core.fleet.options import NotifySpec
from agentdeck.core.fleet.spec import Fleet
from agentdeck.core.fleet.views import limit_text
from agentdeck.core.oversight.actions import Actions, Refused
from agentdeck.core.oversight.alerts import Alerts, Happenings, fleet_secrets, prompt_waiting
from agentdeck.core.oversight.approvals import ApprovalQueue, OperationError

Broadcast = Callable[[dict[str, Any]], None]


class News:
    def __init__(self, state_dir: Path, host: LocalHost, queue: ApprovalQueue,
                 broadcast: Broadcast) -> None:
        self.state_dir = state_dir
        self.host = host
        self.queue = queue
        self._broadcast = broadcast  # to every attached dashboard
        self.notify_command: str | None = None
        self.desktop = False
        self.alerts = Alerts(NotifySpec())  # (configure sets the fleet's)
        # a waiting prompt's Allow / Deny from its notification, through `agentdeck serve`
        self.actions = Actions(NotifySpec().action_ttl)
        self.happenings = Happenings()  # which state changes are news (kept across configure)
        self._pending_before: set[int] = set()

    def configure(self, fleet: Fleet) -> None:
        self.notify_command = fleet.notify.command
        self.desktop = fleet.dashboard.desktop
        self.alerts.close()
        self.actions.ttl = fleet.notify.action_ttl
        self.alerts = Alerts(fleet.notify, fleet_secrets(fleet), self.still_pending,
                             self.served_url, actions=self._action_urls)

    def state_changed(self, info: SessionInfo) -> None:
        """An agent's new state: an alert when it is news (core/oversight/alerts.Happenings)."""
        detail = (str(info.exit_code) if info.exit_code is not None else info.error or ""
                  ) if info.state in ("exited", "failed") else limit_text(
                      info.detection.reset, info.detection.detail)
        alert = self.happenings.news(info.name, info.state, detail)
        if alert is not None:
            self.alerts.send(alert)

    def queue_changed(self, state: dict[str, Any]) -> None:
        """The queue as it now is (protocol.queue_to_wire): each new prompt is announced once."""
        ids = {e["id"] for e in state["pending"]}
        self.actions.forget(ids)  # (an entry gone: its notification's actions answer nothing)
        for entry in state["pending"]:
            if entry["id"] not in self._pending_before:
                agent, summary = entry["agent"], entry["prompt"]["summary"]
                self._broadcast({"push": "attention", "agent": agent, "summary": summary})
                # the user's command (and a desktop notification, where the desktop has a
                # notifier) fire here, dashboard open or not; attached dashboards ring their
                # terminal's bell and send their own terminal notification
                prompt_waiting(agent, summary, self.notify_command, self.desktop)
                self.alerts.prompt(agent, entry["id"], entry["prompt"]["kind"], summary)
        self._pending_before = ids

    # -- what agentdeck and the user did to agents --------------------------------------------
    def gave_work(self, name: str, data: bytes) -> None:
        """Keys that submit something (a message, a task, a line typed in its pane) to an agent
        with no prompt up give it work; with one up they answer the prompt."""
        if b"\r" not in data and b"\n" not in data:
            return
        with contextlib.suppress(KeyError):
            if self.queue.entry_for(name) is None and self.host.info(name).detection.prompt \
                    is None:
                self.happenings.asked(name)

    def hinted(self, name: str, event: dict[str, object]) -> None:
        """A state event from an agent's hooks; its CLI says a prompt was submitted: work."""
        if event.get("hook_event_name") == "UserPromptSubmit":
            self.happenings.asked(name)
        self.host.hint(name, event)

    def turn_steered(self, name: str, goes_on: bool) -> None:
        """A budget interrupted `name` (its turn's end is no finish), or told it to go on."""
        if goes_on:
            self.happenings.asked(name)
        else:
            self.happenings.cut_short(name)

    def started(self, name: str, argv: Sequence[str]) -> None:
        """An agent starts: working at once when its task is on its command line."""
        rec = next((r for r in ready_records(self.state_dir) if r.name == name), None)
        self.happenings.started(name, bool(rec and rec.task
                                           and any(rec.task in arg for arg in argv)))

    # -- a notification's actions -------------------------------------------------------------
    def still_pending(self, entry_id: int) -> bool:
        return any(e.id == entry_id for e in self.queue.pending())

    def _action_urls(self, entry: int, channel: str) -> dict[str, str]:
        """A waiting prompt's Allow / Deny URLs for a notification `channel`: none unless
        `agentdeck serve` runs (it is where they answer)."""
        url = self.served_url()
        return self.actions.mint(entry, channel, url) if url else {}

    def push(self, secret: str, take: bool) -> dict[str, Any]:
        """What a notification's action (`secret`) answers; with `take`, answer it — once,
        while its prompt waits (core/oversight/actions.py). Audited via push, with the
        channel."""
        try:
            cap = self.actions.take(secret, self.still_pending) if take else (
                self.actions.peek(secret))
            entry = next((e for e in self.queue.pending() if e.id == cap.entry), None)
            if entry is None:
                raise Refused("that prompt is no longer waiting: it was answered or withdrawn")
            said = {"agent": entry.agent, "kind": entry.kind, "summary": entry.summary,
                    "decision": cap.decision}
            if take:
                record = self.queue.answer(cap.entry, cap.decision, "user",
                                           {"via": "push", "channel": cap.channel})
                said["decision"] = record.decision
        except (Refused, OperationError) as exc:  # (a StaleAnswer is an OperationError)
            return {"ok": False, "why": str(exc)}
        return {"ok": True, **said}

    def served_url(self) -> str:
        with contextlib.suppress(OSError):
            return (self.state_dir / "serve.url").read_text().strip()
        return ""
