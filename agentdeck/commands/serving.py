"""`agentdeck serve`: the dashboard in a browser (a phone's too), attached to the session host
daemon; in the foreground, or beside the daemon (`--background`, stopped by `agentdeck daemon
stop`)."""

from __future__ import annotations

import argparse
import secrets
import sys

from agentdeck.commands.context import fleet_of, repo


def cmd_serve(args: argparse.Namespace) -> int:
    from agentdeck.daemon import lifecycle
    from agentdeck.serve import address, serve, warn_if_open
    from agentdeck.web import background

    ctx = repo()
    fleet = fleet_of(ctx, args)
    theme = args.serve_theme or args.theme
    if theme is not None:
        from agentdeck.ui.themes import check_theme

        check_theme(theme)  # a wrong name is said here, not in every page that opens
    lifecycle.ensure(ctx.state_dir, fleet.path).close()  # pages attach to a running daemon
    if args.detached:  # started by --background below: the token comes on stdin
        token = sys.stdin.readline().strip()
        return serve(ctx.main_root, ctx.state_dir, args.host, args.port, fleet.path, token,
                     theme, detached=True)
    token = secrets.token_urlsafe(24)
    if not args.background:
        return serve(ctx.main_root, ctx.state_dir, args.host, args.port, fleet.path, token,
                     theme)
    argv = [sys.executable, "-m", "agentdeck", "-C", str(ctx.main_root), "serve", "--host",
            args.host, "--port", str(args.port), "--detached"]
    if fleet.path is not None:
        argv += ["-f", str(fleet.path)]
    if theme is not None:
        argv += ["--theme", theme]
    warn_if_open(args.host)
    serving = background.start(ctx.state_dir, argv, token, (args.host, args.port))
    print(f"agentdeck: the dashboard at {address(args.host, args.port)}?token={token}, served "
          f"in the background (pid {serving.pid}) beside the session host; `agentdeck daemon "
          "stop` stops both", flush=True)
    return 0
