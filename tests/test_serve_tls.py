"""HTTPS for `agentdeck serve`: a certificate from a trustme CA (`--tls-cert/--tls-key`): the
page and the websocket work over HTTPS (verified against the CA; Chromium draws the dashboard
through wss), the device cookie is Secure; `--tls self-signed` makes one certificate of this
host's and keeps it, prints its fingerprint and puts it in the pairing QR code; plain HTTP on
0.0.0.0 warns that answers cross the network in clear."""

from __future__ import annotations

import base64
import hashlib
import http.client
import ssl
from pathlib import Path
from typing import Any

import pytest

from agentdeck.commands import serving as serving_command
from agentdeck.web import tls
from tests.conftest import wait
from tests.served import CHROMIUM_ARGS, PageScreen, need_chromium, post_pairing, serving

trustme = pytest.importorskip("trustme")


def spki_hash(cert_pem: bytes) -> str:
    """What Chromium's --ignore-certificate-errors-spki-list takes: base64 SHA-256 of the
    certificate's public key info."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    key = x509.load_pem_x509_certificate(cert_pem).public_key()
    der = key.public_bytes(serialization.Encoding.DER,
                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_the_page_and_its_websocket_work_over_https(tmp_path: Path) -> None:
    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    cert, key = tmp_path / "serve.crt", tmp_path / "serve.key"
    cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(key))
    with serving(tmp_path, "--tls-cert", str(cert), "--tls-key", str(key), ca=ca) as served:
        assert served.base.startswith("https://127.0.0.1:")
        out = served.out.read_text()
        assert f"fingerprint: {tls.fingerprint(cert)}" in out
        token = served.pair("laptop")
        assert served.get("/", token) == 200 and served.get("/") == 403
        status, _ = post_pairing(served.new_link(), "phone", served.ssl())
        assert status == 303
        # the websocket's handshake over TLS, the certificate checked against the CA
        host, port = served.base.split("//")[1].split(":")
        conn = http.client.HTTPSConnection(host, int(port), timeout=10, context=served.ssl())
        conn.request("GET", "/ws", headers={
            "Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Origin": served.base,
            "Cookie": f"agentdeck_device={token}"})
        assert conn.getresponse().status == 101
        conn.close()
        # a plain-HTTP client gets nowhere
        plain = http.client.HTTPConnection(host, int(port), timeout=10)
        with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
            plain.request("GET", "/")
            plain.getresponse().read()
        # Chromium: the page over https, its dashboard through wss (this certificate allowed)
        from playwright.sync_api import sync_playwright

        allowed = spki_hash(issued.cert_chain_pems[0].bytes())
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=need_chromium(), args=[
                *CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={allowed}"])
            try:
                context = browser.new_context(viewport={"width": 390, "height": 844},
                                              device_scale_factor=3, is_mobile=True,
                                              has_touch=True)
                context.add_cookies([{**served.cookie(token), "secure": True}])
                page = context.new_page()
                screen = PageScreen()
                sockets: list[Any] = []
                page.on("websocket", lambda ws: (sockets.append(ws.url), screen.watch(ws)))
                page.goto(served.base + "/")
                page.wait_for_selector("body.-first-byte", timeout=30_000)
                assert sockets[-1].startswith("wss://127.0.0.1:")

                def drawn() -> bool:
                    page.evaluate("0")
                    return "approvals (1)" in screen.text()

                wait(drawn, "the dashboard over wss", timeout=60)
            finally:
                browser.close()


def test_a_self_signed_certificate_is_made_once_and_shown(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with serving(tmp_path, "--tls", "self-signed") as served:
        printed = served.out.read_text().split("fingerprint: ")[1].split()[0]
        assert tls.served_fingerprint(served.base + "/") == printed
        # the device trusts this very certificate
        context = ssl.create_default_context(cafile=served.state / "tls" / "serve.crt")
        status, token = post_pairing(served.url, "phone", context)
        assert status == 303 and token
        key = served.state / "tls" / "serve.key"
        assert key.stat().st_mode & 0o077 == 0
    # made once: the next run serves the same one
    again = tls.self_signed(served.state, tls.names_for("127.0.0.1", None))
    assert again.fingerprint == printed
    # the QR code's link carries the fingerprint (after #: no server ever sees it)
    drawn: list[str] = []
    monkeypatch.setattr("agentdeck.web.qr.terminal_qr", lambda text: drawn.append(text) or "")
    serving_command._show_pairing("https://box:8321/", "CODE", printed)
    assert drawn == [f"https://box:8321/pair?code=CODE#sha256={printed.replace(':', '')}"]


def test_plain_http_beyond_loopback_warns(tmp_path: Path) -> None:
    with serving(tmp_path, "--host", "0.0.0.0") as served:
        err = served.err.read_text()
        assert "without TLS" in err and "in clear" in err, err
