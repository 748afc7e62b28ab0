"""`agentdeck serve`: the dashboard attached to the daemon, behind its token. (The page in a
real headless Chromium, at phones' and laptops' sizes and scales: test_serve_scales.py.)"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from agentdeck.serve import is_loopback
from tests.conftest import wait
from tests.served import answers_http, serving


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")


def test_the_server_wants_its_token(tmp_path: Path) -> None:
    with serving(tmp_path) as served:
        url = served.url
        token = url.split("token=")[1]
        wait(lambda: answers_http(served.base + "/"), "the server to answer")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(served.base + "/", timeout=5)
        assert refused.value.code == 403
        with pytest.raises(urllib.error.HTTPError) as wrong:
            urllib.request.urlopen(served.base + "/?token=" + "x" * len(token), timeout=5)
        assert wrong.value.code == 403
        page = urllib.request.urlopen(url, timeout=5)
        assert page.status == 200 and "agentdeck_token" in page.headers.get("Set-Cookie", "")
        # a websocket with the token (the cookie another site's page would carry) but from
        # that other site's Origin is refused; from the served page's own Origin it opens
        where = urlsplit(url)
        for origin, status in (("http://evil.example", 403), (f"http://{where.netloc}", 101)):
            conn = http.client.HTTPConnection(where.hostname, where.port, timeout=5)
            conn.request("GET", "/ws", headers={
                "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": origin,
                "Cookie": f"agentdeck_token={token}"})
            assert conn.getresponse().status == status, origin
            conn.close()
