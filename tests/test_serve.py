"""`agentdeck serve`: the dashboard attached to the daemon, for paired devices only. (Pairing:
test_serve_pairing.py; the page in Chromium at phones' and laptops' sizes and scales:
test_serve_scales.py.)"""

from __future__ import annotations

import http.client
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from agentdeck.serve import is_loopback
from tests.conftest import assert_one_line_error, make_repo, run_agentdeck
from tests.served import serving


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")


def test_the_server_wants_a_paired_device_on_its_own_page(tmp_path: Path) -> None:
    with serving(tmp_path) as served:
        assert served.get("/") == 403
        assert served.get("/?token=" + "x" * 32) == 403  # (no token of old opens it)
        assert served.get("/", token="x" * 43) == 403
        token = served.pair("laptop")
        assert served.get("/", token) == 200
        # a websocket with the device's cookie (another site's page would carry it too) but
        # from that other site's Origin is refused; from the served page's own Origin it opens
        where = urlsplit(served.base)
        for origin, status in (("http://evil.example", 403), (f"http://{where.netloc}", 101)):
            conn = http.client.HTTPConnection(where.hostname, where.port, timeout=5)
            conn.request("GET", "/ws", headers={
                "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": origin,
                "Cookie": f"agentdeck_device={token}"})
            assert conn.getresponse().status == status, origin
            conn.close()


@pytest.mark.parametrize(("args", "said"), [
    (["--tls-cert", "/nope"], "--tls-cert and --tls-key go together"),
    (["--tls-cert", "/nope", "--tls-key", "/nope2"], "--tls-cert /nope: no such file"),
    (["--tls", "self-signed", "--tls-cert", "a", "--tls-key", "b"], "not both"),
    (["--url", "ftp://x"], "not an http(s) address"),
    (["--pair", "Bad Name"], "'Bad Name' is not a device name"),
    (["--revoke", "nobody"], "no paired device 'nobody' (none is paired)"),
])
def test_bad_serve_arguments_are_one_line(tmp_path: Path, args: list[str], said: str) -> None:
    repo = make_repo(tmp_path)
    assert_one_line_error(run_agentdeck("serve", *args, cwd=repo), 2, said)
