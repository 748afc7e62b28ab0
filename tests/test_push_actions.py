"""Answers from the notification: with `agentdeck serve` running, a waiting prompt's ntfy push
carries Allow / Deny http actions and its Slack-style webhook Allow / Deny buttons, each a
one-time capability for that prompt's occurrence. A local HTTP server plays ntfy and Slack;
the test POSTs what the phone would: the Allow action answers once (audited via push, with
the channel); again, or from the other channel, it is refused; for a prompt that left the
queue, refused; after `notify.action_ttl` (1s in the fleet file here), refused. No action
URL shows in serve's or the session host's log."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from agentdeck.core.oversight.actions import Actions, Refused
from agentdeck.daemon import lifecycle
from agentdeck.daemon.client import RemoteQueue
from tests.conftest import run_agentdeck, wait
from tests.served import Served, serving
from tests.test_alerts import Inbox, inbox  # noqa: F401  (a fixture)

ACTION = re.compile(r"http, (Allow|Deny), (\S+), method=POST, clear=true")


def ntfy_actions(box: Inbox, n: int) -> dict[str, str]:
    """The actions of the n-th ntfy push (1-based), once it came."""
    wait(lambda: len(box.of("/deck")) >= n, f"ntfy push {n}", timeout=30)
    headers, _ = box.of("/deck")[n - 1]
    return {label.lower(): url for label, url in ACTION.findall(headers.get("Actions", ""))}


def slack_actions(box: Inbox, n: int) -> dict[str, str]:
    wait(lambda: len(box.of("/slack")) >= n, f"slack post {n}", timeout=30)
    _, body = box.of("/slack")[n - 1]
    [buttons] = [b["elements"] for b in json.loads(body)["blocks"] if b["type"] == "actions"]
    return {b["text"]["text"].lower(): b["url"] for b in buttons}


def post(url: str, accept: str = "*/*") -> tuple[int, str]:
    """POST `url` as the ntfy app does (an empty body, no cookie)."""
    request = urllib.request.Request(url, data=b"", method="POST", headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=15) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=15) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def pushed(served: Served) -> list[tuple[str, str]]:
    return [(a["decision"], a.get("channel", "")) for a in served.audit()
            if a.get("via") == "push"]


def test_a_notification_answers_its_prompt_once(tmp_path: Path,
                                                inbox: tuple[Inbox, int]) -> None:  # noqa: F811
    box, port = inbox
    notify = (f"notify: {{after: 0, ntfy: {{topic: deck, server: 'http://127.0.0.1:{port}'}}, "
              f"webhook: {{url: 'http://127.0.0.1:{port}/slack', format: slack}}}}\n")
    # the agent starts once serve runs: a notification's actions answer through it
    with serving(tmp_path, fleet_extra=notify, start=False) as served:
        assert run_agentdeck("start", cwd=served.repo).code == 0
        watcher = lifecycle.ensure(served.state, None)
        queue = RemoteQueue(watcher)
        secrets: list[str] = []
        try:
            # 1: the phone taps Allow: answered once; the same action again, or the Slack
            # button of the same prompt, answers nothing
            first, first_slack = ntfy_actions(box, 1), slack_actions(box, 1)
            secrets += [*first.values(), *first_slack.values()]
            assert set(first) == {"allow", "deny"} and first["allow"].startswith(served.base)
            status, said = post(first["allow"])
            assert status == 200 and "answered" in said, said
            wait(lambda: served.answered() == ["y"], "the answer to reach the agent")
            assert pushed(served) == [("allow", "ntfy")]
            assert post(first["allow"])[0] == 410
            assert post(first_slack["allow"])[0] == 410
            assert post(first["deny"])[0] == 410
            # 2: answered elsewhere (the dashboard) before the phone's tap: refused
            second = ntfy_actions(box, 2)
            secrets += second.values()
            wait(queue.pending, "the second prompt")
            [entry] = queue.pending()
            queue.answer(entry.id, "deny")
            wait(lambda: served.answered() == ["y", "n"], "the dashboard's answer")
            assert post(second["allow"])[0] == 410
            assert served.answered() == ["y", "n"]
            # 3: a tiny TTL from now on; Slack's button opens serve's page in a browser (a GET
            # answers nothing), whose button answers
            fleet = served.repo / "agentdeck.yaml"
            fleet.write_text(fleet.read_text().replace("after: 0,", "after: 0, action_ttl: 1s,"))
            watcher.configure(fleet)
            third = slack_actions(box, 3)
            secrets += third.values()
            status, page = get(third["allow"])
            assert status == 200 and "module_3.py" in page and "Allow" in page
            status, page = post(third["allow"], accept="text/html")
            assert status == 200 and "Answered" in page, page
            wait(lambda: len(served.answered()) == 3, "the third answer")
            assert pushed(served) == [("allow", "ntfy"), ("allow", "slack")]
            # 4: after the TTL: refused, the prompt still waiting
            fourth = ntfy_actions(box, 4)
            secrets += fourth.values()
            wait(lambda: get(fourth["allow"])[0] == 410, "the action to expire", timeout=30)
            assert post(fourth["allow"])[0] == 410
            assert len(served.answered()) == 3 and queue.pending()
        finally:
            queue.close()
            watcher.close()
        daemon_log = (served.state / lifecycle.LOG_FILE).read_text()
        for secret in secrets:
            key = secret.rsplit("/", 1)[1]
            assert key not in served.log() and key not in daemon_log
        assert '"POST /push/[secret]" 200' in served.log()


def test_a_capability_answers_its_own_prompt_once_within_its_time() -> None:
    now = [0.0]
    actions = Actions(ttl=900.0, clock=lambda: now[0])
    waiting = {1, 2}
    one = actions.mint(1, "ntfy", "https://box:8321/")
    other = actions.mint(2, "json", "https://box:8321")
    assert one["allow"].startswith("https://box:8321/push/")
    secret = one["allow"].rsplit("/", 1)[1]
    assert actions.peek(secret).entry == 1  # a look spends nothing
    cap = actions.take(secret, waiting.__contains__)
    assert (cap.entry, cap.decision, cap.channel) == (1, "allow", "ntfy")
    for spent in (secret, one["deny"].rsplit("/", 1)[1]):  # the entry's every action is gone
        with pytest.raises(Refused):
            actions.take(spent, waiting.__contains__)
    # the other prompt's: refused once its entry left the queue, and after the TTL
    waiting.discard(2)
    with pytest.raises(Refused):
        actions.take(other["allow"].rsplit("/", 1)[1], waiting.__contains__)
    late = actions.mint(3, "slack", "https://box")["deny"].rsplit("/", 1)[1]
    now[0] += 900.0
    with pytest.raises(Refused):
        actions.peek(late)
