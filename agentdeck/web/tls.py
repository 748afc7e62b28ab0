"""HTTPS for `agentdeck serve`: the user's certificate (`--tls-cert` / `--tls-key`), or one made
here (`--tls self-signed`, with `cryptography`: the `serve` extra), kept under the registry
folder (`tls/`, the key 0600) and made again only when it expires or no longer names the
addresses served. Its SHA-256 fingerprint is printed, and rides in the pairing link's QR code,
so the phone's user can check the certificate the browser warns about is this one."""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from agentdeck.core.errors import UsageError
from agentdeck.core.files import private_dir, write_private

FOLDER = "tls"
LIFETIME = datetime.timedelta(days=397)  # the most browsers accept for a server certificate
RENEW = datetime.timedelta(days=30)  # made again when it has less than this left
PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


@dataclass(frozen=True)
class Tls:
    cert: Path
    key: Path
    fingerprint: str  # SHA-256 of the certificate (DER), AB:CD:… as browsers show it

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"--tls-cert {self.cert} / --tls-key {self.key}: cannot use them "
                             f"({getattr(exc, 'strerror', None) or exc})") from None
        return context


def given(cert: Path, key: Path) -> Tls:
    """The user's certificate and key (checked: they load as a pair)."""
    for path, flag in ((cert, "--tls-cert"), (key, "--tls-key")):
        if not path.is_file():
            raise UsageError(f"{flag} {path}: no such file")
    tls = Tls(cert.resolve(), key.resolve(), fingerprint(cert))
    tls.context()
    return tls


def self_signed(state_dir: Path, names: list[str]) -> Tls:
    """A certificate of this host's for `names` (host names and addresses), made once and
    kept: the same fingerprint from run to run, so a phone that trusted it goes on."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise UsageError("--tls self-signed needs the cryptography package: pip install "
                         "'agentdeck[serve]' (or give --tls-cert and --tls-key)") from None
    folder = private_dir(state_dir / FOLDER)
    cert_path, key_path = folder / "serve.crt", folder / "serve.key"
    wanted = sorted(set(names))
    with contextlib.suppress(OSError, ValueError):
        old = x509.load_pem_x509_certificate(cert_path.read_bytes())
        now = datetime.datetime.now(datetime.UTC)
        covered = sorted(_names(old))
        if key_path.is_file() and covered == wanted and old.not_valid_after_utc - now > RENEW:
            return Tls(cert_path, key_path, fingerprint(cert_path))
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "agentdeck serve"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, socket.gethostname())])
    alternatives: list[x509.GeneralName] = []
    for name in wanted:
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alternatives.append(x509.DNSName(name))
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + LIFETIME)
            .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    write_private(key_path, key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode())
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM).decode())
    return Tls(cert_path, key_path, fingerprint(cert_path))


def _names(cert: object) -> list[str]:
    from cryptography import x509

    assert isinstance(cert, x509.Certificate)
    alternatives = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return ([str(a) for a in alternatives.get_values_for_type(x509.IPAddress)]
            + list(alternatives.get_values_for_type(x509.DNSName)))


def fingerprint(cert: Path) -> str:
    """SHA-256 of the (first) certificate in a PEM file (a chain's: the server's), AB:CD:…"""
    try:
        first = PEM.search(cert.read_text())
        if first is None:
            raise ValueError("no certificate in it")
        der = ssl.PEM_cert_to_DER_cert(first.group(0))
    except (OSError, ValueError) as exc:
        raise UsageError(f"--tls-cert {cert}: not a PEM certificate ({exc})") from None
    return _colons(hashlib.sha256(der).hexdigest())


def served_fingerprint(url: str) -> str | None:
    """The fingerprint of the certificate a running `https://` server shows (None: plain
    HTTP, or it does not answer)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    with contextlib.suppress(OSError, ssl.SSLError, ValueError):
        pem = ssl.get_server_certificate((parts.hostname, parts.port or 443), timeout=5)
        return _colons(hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest())
    return None


def _colons(hexdigest: str) -> str:
    digest = hexdigest.upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def names_for(host: str, url_host: str | None) -> list[str]:
    """What a certificate of this host's names: loopback, this machine's name, the bound
    address, the address devices are given."""
    names = {"localhost", "127.0.0.1", "::1", socket.gethostname()}
    for name in (host, url_host):
        if name and name not in ("0.0.0.0", "::"):
            names.add(name.strip("[]"))
    return sorted(names)
