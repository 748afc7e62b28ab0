"""`agentdeck serve`: the dashboard in a browser (a phone's too), attached to the session host
daemon; in the foreground, or beside the daemon (`--background`, stopped by `agentdeck daemon
stop`). `--pair` shows a one-time link (and its QR code) that pairs a device; `serve devices`
lists them, `--revoke NAME` ends one."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from agentdeck.commands.context import fleet_of, repo
from agentdeck.core.errors import OperationError, UsageError, require_extra

if TYPE_CHECKING:
    from agentdeck.web.devices import Devices
    from agentdeck.web.tls import Tls


def cmd_serve(args: argparse.Namespace) -> int:
    from agentdeck.daemon import lifecycle
    from agentdeck.web import background
    from agentdeck.web.devices import Devices

    ctx = repo()
    devices = Devices(ctx.state_dir)
    if args.what == "devices" or args.revoke is not None:
        return _devices(devices, args.revoke)  # (no server: no textual-serve needed)
    require_extra("serve")  # an optional extra: said in one line, before anything starts
    from agentdeck.serve import address, serve, warn_if_open

    fleet = fleet_of(ctx, args)
    theme = args.serve_theme or args.theme
    if theme is not None:
        from agentdeck.ui.themes import check_theme

        check_theme(theme)  # a wrong name is said here, not in every page that opens
    _check(args)  # (a mistake is said as one, whatever runs already)
    running = background.running(ctx.state_dir)
    if running is not None and not args.detached:
        if args.pair is None:
            raise OperationError(f"agentdeck serve already runs for this repository (pid "
                                 f"{running.pid}, {running.url}): `agentdeck serve --pair` "
                                 "pairs a device with it, `agentdeck daemon stop` stops it")
        from agentdeck.web.tls import served_fingerprint

        _show_pairing(running.url, devices.new_pairing(args.pair),
                      served_fingerprint(running.url))
        return 0
    tls = _tls(args, ctx.state_dir)
    url = _checked_url(args.url) if args.url else address(args.host, args.port, bool(tls))
    if tls is not None and not url.startswith("https:"):
        raise UsageError(f"--url {url}: with TLS the address is https://")
    lifecycle.ensure(ctx.state_dir, fleet.path).close()  # pages attach to a running daemon
    context = tls.context() if tls is not None else None
    if args.detached:  # started by --background below
        return serve(ctx.main_root, ctx.state_dir, args.host, args.port, fleet.path, url, theme,
                     context)
    warn_if_open(args.host, secure=tls is not None)
    # a pairing link when asked for, and when no device is paired yet (how else to get in)
    code = devices.new_pairing(args.pair or "") if (
        args.pair is not None or not devices.devices()) else None
    fingerprint = tls.fingerprint if tls is not None else None
    if args.background:
        argv = [sys.executable, "-m", "agentdeck", "-C", str(ctx.main_root), "serve",
                "--host", args.host, "--port", str(args.port), "--url", url, "--detached"]
        if fleet.path is not None:
            argv += ["-f", str(fleet.path)]
        if theme is not None:
            argv += ["--theme", theme]
        if tls is not None:  # (a self-signed one made here: the same files)
            argv += ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key)]
        serving = background.start(ctx.state_dir, argv, (args.host, args.port))
        print(f"agentdeck: serving the dashboard at {url} in the background (pid "
              f"{serving.pid}), beside the session host; `agentdeck daemon stop` stops both",
              flush=True)
    else:
        print(f"agentdeck: serving the dashboard at {url} (Ctrl+C stops serving; the agents "
              "go on)", flush=True)
    if fingerprint is not None:
        print(f"agentdeck: its TLS certificate's SHA-256 fingerprint: {fingerprint}",
              flush=True)
    if code is not None:
        _show_pairing(url, code, fingerprint)
    if args.background:
        return 0
    return serve(ctx.main_root, ctx.state_dir, args.host, args.port, fleet.path, url, theme,
                 context)


def _check(args: argparse.Namespace) -> None:
    if args.tls is not None and (args.tls_cert or args.tls_key):
        raise UsageError("--tls self-signed or --tls-cert/--tls-key, not both")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    for path, flag in ((args.tls_cert, "--tls-cert"), (args.tls_key, "--tls-key")):
        if path is not None and not path.is_file():
            raise UsageError(f"{flag} {path}: no such file")
    if args.url is not None:
        _checked_url(args.url)
    if args.pair:
        from agentdeck.web.devices import check_name

        check_name(args.pair)


def _tls(args: argparse.Namespace, state_dir: Path) -> Tls | None:
    """The certificate to serve with: the user's, one of this host's made here, or none."""
    from urllib.parse import urlsplit

    from agentdeck.web import tls

    if args.tls_cert:
        return tls.given(args.tls_cert, args.tls_key)
    if args.tls == "self-signed":
        host = urlsplit(args.url).hostname if args.url else None
        return tls.self_signed(state_dir, tls.names_for(args.host, host))
    return None


def _checked_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or not url.isprintable() \
            or " " in url or parts.query or parts.fragment:
        raise UsageError(f"--url {url!r}: not an http(s) address with a host")
    return url if url.endswith("/") else url + "/"


def _show_pairing(url: str, code: str, fingerprint: str | None = None) -> None:
    """The pairing link, as a QR code and as text; with TLS the certificate's fingerprint
    rides in the QR code's link (after #: it never reaches a server), to check against what
    the phone's browser shows."""
    from agentdeck.web.devices import PAIRING_TTL
    from agentdeck.web.qr import terminal_qr

    link = f"{url.rstrip('/')}/pair?code={code}"
    drawn = terminal_qr(link + (f"#sha256={fingerprint.replace(':', '')}" if fingerprint
                                else ""))
    if drawn:
        print(drawn, end="")
    minutes = int(PAIRING_TTL // 60)
    print(f"agentdeck: pair a device: scan the QR code or open {link} (once, within {minutes} "
          "minutes)", flush=True)


def _devices(devices: Devices, revoke: str | None) -> int:
    if revoke is not None:
        if not devices.revoke(revoke):
            known = ", ".join(d.name for d in devices.devices()) or "none is paired"
            raise UsageError(f"no paired device '{revoke}' ({known})")
        print(f"agentdeck: {revoke} is revoked: its next request is refused, its open pages "
              "close")
        return 0
    listed = devices.devices()
    if not listed:
        print("no paired devices: `agentdeck serve --pair` pairs one")
        return 0
    print(f"  {'DEVICE':<24} {'PAIRED':<17} LAST SEEN")
    for device in sorted(listed, key=lambda d: d.paired_at):
        seen = _when(device.seen_at) if device.seen_at else "-"
        print(f"  {device.name:<24} {_when(device.paired_at):<17} {seen}")
    return 0


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))
