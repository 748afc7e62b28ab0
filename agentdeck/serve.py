"""`agentdeck serve`: the dashboard in a browser (a phone included), attached to the daemon.

textual-serve runs one dashboard process per open page, each a client of the session host
daemon, so every page, terminal dashboard and phone sees the same agents and the same queue.
The server is the user's alone: it binds loopback unless told otherwise, and every request must
come from a paired device (web/devices.py: a token of its own in a cookie, given once through
a one-time pairing code); anything else gets 403. A revoked device's open pages are closed. A
websocket must also come from the served page itself: its Origin names this server (another
site open in the same browser carries the cookie, but not this Origin). No token or code is
ever logged (web/access.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import shlex
import signal
import socket
import ssl
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from agentdeck.daemon.client import WEB_DEVICE
from agentdeck.web import background, icons, pairing
from agentdeck.web.access import AccessLog
from agentdeck.web.devices import Devices
from agentdeck.web.push import PushRelay

WEB_VIEW = "AGENTDECK_WEB_VIEW"  # "queue": the page was opened from the home screen
TEMPLATES = Path(__file__).resolve().parent / "serve_templates"  # the page, with a viewport
ASSETS = Path(__file__).resolve().parent / "serve_static"  # agentdeck's scripts for the page
OPEN_PATHS = ("/static/", "/app/")  # scripts, fonts, the manifest and icons: nothing private
REVOKED_CHECK = 1.0  # seconds: how soon a revoked device's open pages close
NOT_PAIRED = ("This browser is not paired with this agentdeck. On the machine that runs it, "
              "`agentdeck serve --pair` shows a QR code and a link that pair a device.")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DeckServer(Server):
    def __init__(self, command: str, host: str, port: int, devices: Devices,
                 push: PushRelay, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(command, host=host, port=port, title="agentdeck",
                         templates_path=TEMPLATES)
        self.devices = devices
        self.push = push  # notifications' Allow / Deny (web/push.py)
        self.ssl_context = ssl_context
        self._pages: dict[str, set[web.WebSocketResponse]] = {}  # device -> its open pages

    def serve(self, debug: bool = False) -> None:
        """textual-serve's, with TLS when given and an access log that never shows a secret
        (web/access.py)."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, self.request_exit)
            loop.add_signal_handler(signal.SIGTERM, self.request_exit)
        web.run_app(self._make_app(), host=self.host, port=self.port, handle_signals=False,
                    loop=loop, print=lambda *_: None, access_log_class=AccessLog,
                    ssl_context=self.ssl_context)

    async def on_startup(self, app: web.Application) -> None:
        # (textual-serve's banner would name an address that only answers 403: `serve` says
        # where it is itself)
        watcher = asyncio.get_running_loop().create_task(self._close_revoked())
        app.on_cleanup.append(lambda _app: _cancelled(watcher))

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        # the installable app: its manifest and icons (drawn on request), then page.js
        app.router.add_get("/app/manifest.webmanifest", self._manifest)
        app.router.add_get("/app/icon-{size:\\d+}.png", self._icon)
        app.router.add_get("/favicon.ico", self._icon)
        app.router.add_static("/app", ASSETS)
        # a page opened from the home screen starts on the queue (web/icons.START)
        app.router.add_get("/ws/{view:queue}", self.handle_websocket)
        app.router.add_get("/pair", self._pair_form)
        app.router.add_post("/pair", self._pair)
        app.router.add_get("/push/{secret}", self.push.page)
        app.router.add_post("/push/{secret}", self.push.answer)
        app.middlewares.append(self._guard)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path
        if path.startswith(OPEN_PATHS) or path == "/favicon.ico":
            return await handler(request)
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc.lower() != request.host.lower() and (
                request.method != "GET" or request.headers.get("Upgrade", "").lower()
                == "websocket"):
            return web.Response(status=403, text="agentdeck: a request from another site's "
                                "page is refused\n")
        if path == "/pair" or path.startswith("/push/"):
            # the pairing code, the notification action's capability: each its own key
            return await handler(request)
        name = self.devices.who(request.cookies.get(pairing.COOKIE, ""))
        if name is None:
            return pairing.refused(NOT_PAIRED)
        request["device"] = name
        self.devices.seen(name)
        return await handler(request)

    async def handle_index(self, request: web.Request) -> web.Response:
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
        response = aiohttp_jinja2.render_template("app_index.html", request, context)
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's, with the page's dashboard run by a PageService, and the page
        known as its device's (closed when the device is revoked)."""
        websocket = web.WebSocketResponse(heartbeat=15)
        device = request["device"]
        service: PageService | None = None
        pages = self._pages.setdefault(device, set())
        try:
            await websocket.prepare(request)
            pages.add(websocket)
            service = PageService(self.command, write_bytes=websocket.send_bytes,
                                  write_str=websocket.send_str, close=websocket.close,
                                  download_manager=self.download_manager, debug=self.debug,
                                  device=device, view=request.match_info.get("view", ""))
            await service.start(_number(request.query.get("width"), 80),
                                _number(request.query.get("height"), 24))
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        finally:
            pages.discard(websocket)
            if service is not None:
                await service.stop()
        return websocket

    async def _close_revoked(self) -> None:
        """Close the open pages of a device that was revoked (`serve devices --revoke`, in
        another process): its next request is refused anyway; an open page is not one."""
        while True:
            await asyncio.sleep(REVOKED_CHECK)
            if not any(self._pages.values()):
                continue
            with contextlib.suppress(Exception):
                paired = {d.name for d in self.devices.devices()}
                for name, pages in list(self._pages.items()):
                    if name not in paired:
                        for page in list(pages):
                            await page.close(message=b"revoked")

    async def _pair_form(self, request: web.Request) -> web.Response:
        return await pairing.form(request, self.devices)

    async def _pair(self, request: web.Request) -> web.StreamResponse:
        return await pairing.pair(request, self.devices)

    async def _manifest(self, request: web.Request) -> web.Response:
        return web.Response(text=icons.manifest(), content_type="application/manifest+json")

    async def _icon(self, request: web.Request) -> web.Response:
        size = int(request.match_info.get("size", "192"))
        if size not in icons.SIZES:
            raise web.HTTPNotFound()
        # (drawn once, off the event loop: pages and websockets go on meanwhile)
        png = await asyncio.to_thread(icons.icon_png, size)
        return web.Response(body=png, content_type="image/png",
                            headers={"Cache-Control": "max-age=86400"})


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


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
          url: str, theme: str | None = None,
          ssl_context: ssl.SSLContext | None = None) -> int:
    """Serve until stopped; `url`: the address devices reach it at (notifications point
    there)."""
    argv = [sys.executable, "-m", "agentdeck", "-C", str(repo)]
    if fleet_file is not None:
        argv += ["-f", str(fleet_file)]
    if theme is not None:
        argv += ["--theme", theme]
    push = PushRelay(state_dir)
    server = DeckServer(shlex.join(argv), host, port, Devices(state_dir), push, ssl_context)
    background.record(state_dir, url)
    try:
        server.serve()
    finally:
        background.forget(state_dir)
        push.close()
    return 0


def address(host: str, port: int, secure: bool = False) -> str:
    """The address to give devices: a wildcard bind is reached at this machine's address on
    its network (the one its default route leaves from)."""
    shown = host
    if host in ("0.0.0.0", "::", ""):
        shown = _lan_address() or "127.0.0.1"
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"{'https' if secure else 'http'}://{shown}:{port}/"


def _lan_address() -> str | None:
    # (a UDP socket "connected" to an outside address sends nothing; it only picks a route)
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect(("192.0.2.1", 9))
        found: str = sock.getsockname()[0]
        return found
    return None


def warn_if_open(host: str, secure: bool) -> None:
    if is_loopback(host):
        return
    if secure:
        print(f"agentdeck: warning: serving on {host}, reachable from other machines (paired "
              "devices only)", file=sys.stderr)
    else:
        print(f"agentdeck: warning: serving on {host} without TLS: answers to your agents' "
              "prompts, and the pairing link, cross the network in clear (--tls self-signed, "
              "or --tls-cert/--tls-key)", file=sys.stderr)
