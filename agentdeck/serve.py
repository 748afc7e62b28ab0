"""`agentdeck serve`: the dashboard in a browser (a phone included), attached to the daemon.

textual-serve runs one dashboard process per open page, each a client of the session host
daemon, so every page, terminal dashboard and phone sees the same agents and the same queue.
The server is the user's alone: it binds loopback unless told otherwise, and every request must
carry the random token printed once in the URL (the page then keeps it in a cookie for its
websocket); anything else gets 403. A websocket must also come from the served page itself: its
Origin names this server (another site open in the same browser carries the cookie, but not
this Origin).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import shlex
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from agentdeck.daemon.client import WEB_DEVICE
from agentdeck.web import background, icons
from agentdeck.web.access import AccessLog

WEB_VIEW = "AGENTDECK_WEB_VIEW"  # "queue": the page was opened from the home screen

COOKIE = "agentdeck_token"
TEMPLATES = Path(__file__).resolve().parent / "serve_templates"  # the page, with a viewport
ASSETS = Path(__file__).resolve().parent / "serve_static"  # agentdeck's scripts for the page


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TokenServer(Server):
    def __init__(self, command: str, host: str, port: int, token: str,
                 public_url: str | None = None) -> None:
        super().__init__(command, host=host, port=port, title="agentdeck",
                         public_url=public_url, templates_path=TEMPLATES)
        self.token = token

    def serve(self, debug: bool = False) -> None:
        """textual-serve's, with an access log that never shows a secret (web/access.py)."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, self.request_exit)
            loop.add_signal_handler(signal.SIGTERM, self.request_exit)
        web.run_app(self._make_app(), host=self.host, port=self.port, handle_signals=False,
                    loop=loop, print=lambda *_: None, access_log_class=AccessLog)

    async def on_startup(self, app: web.Application) -> None:
        # textual-serve's banner names a URL without the token, which only answers 403:
        # `serve` prints the one link that works itself
        return None

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's, with the page's dashboard run by a PageService."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = _number(request.query.get("width"), 80)
        height = _number(request.query.get("height"), 24)
        service: PageService | None = None
        try:
            await websocket.prepare(request)
            service = PageService(self.command, write_bytes=websocket.send_bytes,
                                  write_str=websocket.send_str, close=websocket.close,
                                  download_manager=self.download_manager, debug=self.debug,
                                  device="", view=request.match_info.get("view", ""))
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        finally:
            if service is not None:
                await service.stop()
        return websocket

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        # the installable app: its manifest and icons (drawn on request), then page.js
        app.router.add_get("/app/manifest.webmanifest", self._manifest)
        app.router.add_get("/app/icon-{size:\\d+}.png", self._icon)
        app.router.add_get("/favicon.ico", self._icon)
        app.router.add_static("/app", ASSETS)
        # a page opened from the home screen starts on the queue (web/icons.START)
        app.router.add_get("/ws/{view:queue}", self.handle_websocket)
        app.middlewares.append(self._guard)
        return app

    async def handle_index(self, request: web.Request) -> web.Response:  # type: ignore[override]
        """The page, its websocket's address taken from the request (the address the
        browser used: a phone on the LAN reaches the host by its name, not by 0.0.0.0)."""
        scheme = "wss" if request.secure else "ws"
        view = "/queue" if request.query.get("view") == "queue" else ""
        context = {
            "font_size": _number(request.query.get("fontsize"), 16),
            "app_websocket_url": f"{scheme}://{request.host}/ws{view}",
            "config": {"static": {"url": "/static/"}},
            "application": {"name": self.title},
            "theme_colour": icons.THEME,
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def _manifest(self, request: web.Request) -> web.Response:
        return web.Response(text=icons.manifest(), content_type="application/manifest+json")

    async def _icon(self, request: web.Request) -> web.Response:
        size = int(request.match_info.get("size", "192"))
        if size not in icons.SIZES:
            raise web.HTTPNotFound()
        return web.Response(body=icons.icon_png(size), content_type="image/png",
                            headers={"Cache-Control": "max-age=86400"})

    @web.middleware
    async def _guard(self, request: web.Request,
                     handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                     ) -> web.StreamResponse:
        if request.path.startswith(("/static/", "/app/")) or request.path == "/favicon.ico":
            # the page's scripts and fonts, the app's manifest and icons: nothing private (a
            # manifest is fetched without cookies)
            return await handler(request)
        given = request.query.get("token") or request.cookies.get(COOKIE) or ""
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return web.Response(status=403, text="agentdeck: this page needs the link "
                                "`agentdeck serve` printed, with its token\n")
        origin = request.headers.get("Origin")
        if (origin is not None and request.headers.get("Upgrade", "").lower() == "websocket"
                and urlsplit(origin).netloc.lower() != request.host.lower()):
            return web.Response(status=403, text="agentdeck: a websocket from another site's "
                                "page is refused\n")
        response = await handler(request)
        if request.query.get("token") and not isinstance(response, web.WebSocketResponse):
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict")
        return response


def _number(text: str | None, default: int) -> int:
    try:
        return int(text or "")
    except ValueError:
        return default


class PageService(AppService):
    """One page's dashboard process, told that it is a page (and of which device): its
    answers are audited `"via": "web"`, with the device's name."""

    def __init__(self, *args: object, device: str, view: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.device = device
        self.view = view  # "queue": opened from the home screen

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        environment = super()._build_environment(width, height)
        environment[WEB_DEVICE] = self.device
        environment[WEB_VIEW] = self.view
        return environment


def serve(repo: Path, state_dir: Path, host: str, port: int, fleet_file: Path | None,
          token: str, theme: str | None = None, detached: bool = False) -> int:
    """Serve until stopped. `detached`: run by `serve --background` (web/background.py): the
    link was printed by the process that started this one."""
    argv = [sys.executable, "-m", "agentdeck", "-C", str(repo)]
    if fleet_file is not None:
        argv += ["-f", str(fleet_file)]
    if theme is not None:
        argv += ["--theme", theme]
    server = TokenServer(shlex.join(argv), host, port, token)
    url = address(host, port)
    if not detached:
        warn_if_open(host)
        print(f"agentdeck: the dashboard at {url}?token={token} (Ctrl+C stops serving; the "
              "agents go on)", flush=True)
    background.record(state_dir, url)  # (notifications point there: never with the token)
    try:
        server.serve()
    finally:
        background.forget(state_dir)
    return 0


def address(host: str, port: int) -> str:
    """The address to give: a wildcard bind is reached on this machine at loopback."""
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def warn_if_open(host: str) -> None:
    if not is_loopback(host):
        print(f"agentdeck: warning: serving on {host}, reachable from other machines; anyone "
              "with the link can answer your agents' prompts", file=sys.stderr)
