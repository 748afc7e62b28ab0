"""A notification's Allow / Deny, answered at `/push/<capability>` (core/oversight/actions.py):
ntfy's buttons POST there from the phone; Slack's buttons and Discord's links open it in a
browser, whose page shows the request and a button that POSTs. A GET answers nothing (a link
preview, a prefetch). The capability is the key: no paired device needed, and the path is
never logged (web/access.py). The session host checks it and answers, audited via push."""

from __future__ import annotations

import asyncio
import html
import threading
from pathlib import Path
from typing import Any

from aiohttp import web

from agentdeck.daemon import lifecycle
from agentdeck.daemon.client import RemoteHost
from agentdeck.web import pairing

VERB = {"allow": "Allow", "deny": "Deny", "always": "Always allow"}


class PushRelay:
    """serve's line to the session host for notification actions (one connection, made
    again when the session host restarted)."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self._host: RemoteHost | None = None
        self._lock = threading.Lock()

    def ask(self, secret: str, take: bool) -> dict[str, Any]:
        with self._lock:
            for _ in range(2):
                if self._host is None or self._host.closed.is_set():
                    self._host = lifecycle.connect(self.state_dir)
                if self._host is None:
                    break
                try:
                    return self._host.push(secret, take)
                except OSError:  # (it went away: once more, with a new connection)
                    self._host.close()
                    self._host = None
        return {"ok": False, "why": "the session host is not running"}

    def close(self) -> None:
        with self._lock:
            if self._host is not None:
                self._host.close()
                self._host = None

    async def page(self, request: web.Request) -> web.Response:
        """GET: what the action would answer, and a button that does."""
        said = await asyncio.to_thread(self.ask, request.match_info["secret"], False)
        if not said["ok"]:
            return _refused(said["why"])
        verb = VERB.get(said["decision"], said["decision"])
        return pairing.page(f"""<h1>{html.escape(verb)}?</h1>
<p><b>{html.escape(said["agent"])}</b> · {html.escape(said["kind"])}</p>
<pre style="white-space: pre-wrap">{html.escape(said["summary"])}</pre>
<form method="post"><button type="submit" id="answer">{html.escape(verb)}</button></form>""")

    async def answer(self, request: web.Request) -> web.Response:
        """POST: answer (once). Plain text for the ntfy app, a page for a browser."""
        said = await asyncio.to_thread(self.ask, request.match_info["secret"], True)
        browser = "text/html" in request.headers.get("Accept", "")
        if not said["ok"]:
            return _refused(said["why"]) if browser else web.Response(
                status=410, text=f"agentdeck: refused: {said['why']}\n")
        done = f"{said['agent']}: {said['decision']} ({said['kind']}: {said['summary']})"
        if browser:
            return pairing.page(f"<h1>Answered</h1><p>{html.escape(done)}</p>")
        return web.Response(text=f"agentdeck: answered: {done}\n")


def _refused(why: str) -> web.Response:
    return pairing.page(f"<h1>Not answered</h1><p>{html.escape(why)}</p>", status=410)
