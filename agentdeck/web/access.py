"""The access log of `agentdeck serve`: who asked for what, and nothing that opens the door —
no query string (a pairing code, a token of old), no Referer (the page's own address with
them), and no notification action's capability (a path of its own, shown as its kind)."""

from __future__ import annotations

import re

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

# paths whose last part is a secret: a notification's action, a pairing
SECRET_PATHS = re.compile(r"^/(push|pair)/[^/]+")


def shown_path(path: str) -> str:
    """`path` as the log may show it."""
    return SECRET_PATHS.sub(lambda m: f"/{m.group(1)}/[secret]", path)


class AccessLog(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %s %.3fs', request.remote, request.method,
                         shown_path(request.path), response.status, time)
