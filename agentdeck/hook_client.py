"""`agentdeck hook permission-request`: the command Claude Code and Codex CLI run for each
permission request (their PermissionRequest hooks), installed per worktree by the dashboard.

It hands the request to the running dashboard over its unix socket and prints the decision in
the agent's hook format. When no dashboard listens, or none answers within the timeout, it
prints nothing and exits 0: the agent then decides as if no hook existed, shows its own prompt,
and the dashboard's screen detector catches that prompt. It never blocks an agent for longer
than the timeout and never fails it.

Only the standard library is imported: this runs once per tool call, so it must start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import socket
import sys
import time
from typing import Any

# (the registry imports only the standard library, as this command must: see below)
from agentdeck.core.fleet.kinds import HOOK_KINDS

PROTOCOL = 1
DENY_MESSAGE = "Denied from the agentdeck dashboard."


def output_for(cli: str, decision: str | None, request: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON an agent's PermissionRequest hook prints for a decision (None: no decision)."""
    if decision not in ("allow", "always", "deny"):
        return None
    body: dict[str, Any] = {"behavior": "deny" if decision == "deny" else "allow"}
    if decision == "deny":
        body["message"] = DENY_MESSAGE
    elif decision == "always" and cli == "claude":
        # Claude Code keeps the rules it suggested for this request ("always allow …")
        body["updatedPermissions"] = request.get("permission_suggestions") or []
    return {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": body}}


def ask_dashboard(sock_path: str, message: dict[str, Any], timeout: float) -> str | None:
    """Send one request, wait up to `timeout` seconds for the decision line."""
    deadline = time.monotonic() + timeout
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(2.0)
            conn.connect(sock_path)
            conn.sendall(json.dumps(message).encode() + b"\n")
            buf = b""
            while b"\n" not in buf:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                ready, _, _ = select.select([conn], [], [], min(left, 1.0))
                if ready:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return None
                    buf += chunk
    except OSError:
        return None  # no dashboard: the agent asks in its own screen
    try:
        reply = json.loads(buf.split(b"\n", 1)[0])
    except ValueError:
        return None
    decision = reply.get("decision") if isinstance(reply, dict) else None
    return decision if isinstance(decision, str) else None


def read_request(stream: Any, timeout: float) -> dict[str, Any] | None:
    """The agent's JSON request from `stream`: read until it parses, the stream ends, or
    `timeout` seconds pass (an agent that leaves stdin open must not hold the hook)."""
    fd = stream.fileno()
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        with_data = data.strip()
        if with_data:
            try:
                request = json.loads(with_data)
            except ValueError:
                pass
            else:
                return request if isinstance(request, dict) else None
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:  # the end: whatever came is the request, or there is none
            if not data.strip():
                return {}
            try:
                request = json.loads(data)
            except ValueError:
                return None
            return request if isinstance(request, dict) else None
        data += chunk


def tell_dashboard(sock_path: str, message: dict[str, Any]) -> None:
    """Send one event and go: an agent's Stop or Notification hook must not wait for us."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(2.0)
            conn.connect(sock_path)
            conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass  # no dashboard: nothing to tell


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agentdeck hook", description=__doc__.splitlines()[0])
    parser.add_argument("event", choices=["permission-request", "event"])
    parser.add_argument("--agent", required=True, help="the agentdeck agent name")
    parser.add_argument("--cli", choices=HOOK_KINDS, required=True)
    parser.add_argument("--socket", required=True, help="the dashboard's approvals socket")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds to wait for an answer before letting the agent ask itself")
    args = parser.parse_args(argv)
    if not 0 < args.timeout < 86_400:  # (nan and inf fail this too)
        parser.error(f"--timeout must be seconds between 0 and a day, not {args.timeout}")
    request = read_request(sys.stdin, min(args.timeout, 10.0))
    if request is None:
        return 0  # not ours to judge (or it never came): the agent asks as usual
    # (the variable's name is core.hook_channel.TOKEN_VAR: not imported, this command starts
    # on every tool call of every agent and loads nothing it does not need)
    message = {"v": PROTOCOL, "agent": args.agent, "cli": args.cli, "pid": os.getppid(),
               "token": os.environ.get("AGENTDECK_HOOK_TOKEN", ""), "request": request}
    if args.event == "event":  # Stop, Notification, UserPromptSubmit, SessionStart
        tell_dashboard(args.socket, {**message, "type": "event"})
        return 0
    decision = ask_dashboard(args.socket, message, args.timeout)
    out = output_for(args.cli, decision, request)
    if out is not None:
        sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
