"""The pairing page of `agentdeck serve`: the link a QR code opens (`/pair?code=…`) asks the
device for a name; posting it spends the code and sets the device's token in a cookie (never
in a URL), then goes to the dashboard. A GET spends nothing: a link preview or a prefetch
cannot use up the code."""

from __future__ import annotations

import html

from aiohttp import web

from agentdeck.core.errors import OperationError
from agentdeck.web.devices import Devices, guess_name
from agentdeck.web.icons import THEME

COOKIE = "agentdeck_device"
MAX_AGE = 400 * 24 * 3600  # the longest a browser keeps a cookie

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="theme-color" content="{theme}"><title>agentdeck: pair this device</title>
<style>
 body {{ background: {theme}; color: #eee; font: 18px/1.4 system-ui, sans-serif;
        margin: 0; padding: 24px; }}
 main {{ max-width: 28em; margin: auto; }}
 input, button {{ font: inherit; width: 100%; box-sizing: border-box; min-height: 48px;
                 margin: 8px 0; border-radius: 8px; border: 1px solid #456; }}
 input {{ background: #12232d; color: #fff; padding: 0 12px; }}
 button {{ background: #f5a623; color: #000; font-weight: bold; border: 0; }}
</style></head><body><main>{body}</main></body></html>
"""


def page(body: str, status: int = 200) -> web.Response:
    # (same-origin: another site never learns the link's code; the form's own post keeps its
    # Origin, which no-referrer would make "null")
    return web.Response(text=PAGE.format(theme=THEME, body=body), status=status,
                        content_type="text/html",
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "same-origin"})


def refused(why: str) -> web.Response:
    return page(f"<h1>Not paired</h1><p>{html.escape(why)}</p>", status=403)


async def form(request: web.Request, devices: Devices) -> web.Response:
    code = request.query.get("code", "")
    pairing = devices.pairing(code)
    if pairing is None:
        return refused("This pairing link is spent or has expired: `agentdeck serve --pair` "
                       "shows a new one.")
    name = pairing.name or guess_name(request.headers.get("User-Agent", ""))
    return page(f"""<h1>Pair with agentdeck</h1>
<p>This device will see your agents and answer their prompts until you revoke it
(<code>agentdeck serve devices --revoke NAME</code>).</p>
<form method="post" action="/pair">
<input type="hidden" name="code" value="{html.escape(code)}">
<label for="name">This device's name</label>
<input id="name" name="name" value="{html.escape(name)}" maxlength="32" autocomplete="off">
<button type="submit" id="pair">Pair</button>
</form>""")


async def pair(request: web.Request, devices: Devices) -> web.StreamResponse:
    data = await request.post()
    try:
        name, token = devices.pair(str(data.get("code", "")), str(data.get("name", "")))
    except OperationError as exc:
        return refused(str(exc))
    response = web.HTTPSeeOther("/?view=queue")
    response.set_cookie(COOKIE, token, max_age=MAX_AGE, path="/", httponly=True,
                        samesite="Strict", secure=request.secure)
    response.headers["Cache-Control"] = "no-store"
    request["device"] = name
    return response
