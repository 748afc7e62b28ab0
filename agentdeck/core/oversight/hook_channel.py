"""The dashboard's end of the structured approvals channel.

Claude Code and Codex CLI run `agentdeck hook permission-request` for each permission request
(see `agentdeck.hook_client`); that command connects to this unix socket, sends the tool request
and waits for a decision. Each connection becomes a `HookRequest` handed to the approvals queue,
which merges it with what the screen detector sees of the same prompt, so one prompt is one
queue entry whichever channel saw it first. The socket is the user's alone: mode 0600 in a
folder only they can enter, and peers of another uid are refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import re
import secrets
import select
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentdeck.core import unixsock
from agentdeck.core.fleet.kinds import HOOK_KINDS
from agentdeck.core.screen.detect import Prompt

log = logging.getLogger(__name__)
SOCKET_NAME = "approvals.sock"
TOKEN_VAR = "AGENTDECK_HOOK_TOKEN"  # in the agent's environment: who its hook speaks for
KEY_FILE = "hook.key"  # under the registry folder (0600; a sandboxed agent does not see it)

# tool name -> prompt kind; MCP tools are "mcp__<server>__<tool>"
_KINDS = {"bash": "bash", "shell": "bash", "exec_command": "bash", "local_shell": "bash",
          "write": "write", "edit": "edit", "multiedit": "edit", "notebookedit": "edit",
          "apply_patch": "edit", "webfetch": "fetch", "websearch": "fetch"}


def socket_path(state_dir: Path, name: str = SOCKET_NAME) -> Path:
    """Where the approvals socket (or another of this repository's) lives."""
    return unixsock.socket_path(state_dir, name)


def _key(state_dir: Path) -> bytes:
    path = state_dir / KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        from agentdeck.core.files import write_private

        write_private(path, secrets.token_hex(32))
        return path.read_bytes()


def agent_token(state_dir: Path, agent: str) -> str:
    """The token an agent's hook proves its name with: only that agent's environment has it
    (derived from a key of the repository's registry folder, so it needs no bookkeeping and
    holds across restarts of the session host)."""
    return hmac.new(_key(state_dir), agent.encode(), hashlib.sha256).hexdigest()


def prompt_for(request: dict[str, Any], cli: str) -> tuple[Prompt, bool]:
    """The queue's view of a hook request, and whether 'allow always' can be answered."""
    tool = str(request.get("tool_name") or "tool")
    args = request.get("tool_input")
    args = args if isinstance(args, dict) else {}
    kind = "mcp" if tool.startswith("mcp__") else _KINDS.get(tool.lower(), "other")
    summary = ""
    for key in ("command", "cmd", "file_path", "notebook_path", "path", "url", "query"):
        value = args.get(key)
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        if value:
            summary = str(value)
            break
    if kind == "mcp":
        summary = tool.removeprefix("mcp__").replace("__", " · ") + (
            f" {summary}" if summary else "")
    patch = patch_summary(summary) if "*** Begin Patch" in summary else None
    if patch is not None:  # Codex edits files with an apply_patch heredoc: say which, how much
        kind, summary = patch
    summary = " ".join((summary or tool).split())
    # Claude Code keeps suggested rules on "allow always"; Codex's hooks cannot yet
    suggestions = request.get("permission_suggestions")
    always = cli == "claude" and bool(suggestions)
    return Prompt(kind=kind, summary=summary, allow="", deny="", agent=cli,
                  signature="hook:" + json.dumps([tool, args], sort_keys=True, default=str),
                  always_scope=always_scope(suggestions) if always else ""), always


def always_scope(suggestions: Any) -> str:
    """What an "allow always" would cover, from Claude Code's suggested rules — `Bash(npm
    test:*)`, or the tool as a whole — so the queue shows that an always answer is wider than
    the request ("a always: Bash(npm test:*)")."""
    scopes = []
    for suggestion in suggestions if isinstance(suggestions, list) else []:
        rules = suggestion.get("rules") if isinstance(suggestion, dict) else None
        for rule in rules if isinstance(rules, list) else []:
            if not isinstance(rule, dict) or not rule.get("toolName"):
                continue
            content = rule.get("ruleContent")
            scopes.append(f"{rule['toolName']}({content})" if content else
                          f"every {rule['toolName']} request")
    return ", ".join(dict.fromkeys(scopes))


_PATCH_FILE = re.compile(r"^\*\*\* (?P<op>Add|Update|Delete) File: (?P<path>.+?)\s*$")


def patch_summary(text: str) -> tuple[str, str] | None:
    """An apply_patch request as the files it touches with their +/- line counts — "notes.txt
    (+1 -0), src/app.py (+3 -1)" — and its kind (write when it only adds files, else edit)."""
    files: list[list[object]] = []
    for line in text.splitlines():
        m = _PATCH_FILE.match(line)
        if m:
            files.append([m.group("path"), m.group("op"), 0, 0])
        elif files and line.startswith("+") and not line.startswith("+++"):
            files[-1][2] = int(str(files[-1][2])) + 1
        elif files and line.startswith("-") and not line.startswith("---"):
            files[-1][3] = int(str(files[-1][3])) + 1
    if not files:
        return None
    kind = "write" if all(f[1] == "Add" for f in files) else "edit"
    parts = [f"{path} (deleted)" if op == "Delete" else f"{path} (+{added} -{removed})"
             for path, op, added, removed in files]
    return kind, ", ".join(parts)


@dataclass
class HookRequest:
    """One waiting `agentdeck hook` process. `reply` delivers a decision (or None: "no
    decision, ask in your own screen") and reports whether the process was still there."""

    agent: str
    cli: str
    prompt: Prompt
    offers_always: bool
    _conn: socket.socket = field(repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def alive(self) -> bool:
        if self._done.is_set():
            return False
        try:
            readable, _, _ = select.select([self._conn], [], [], 0)
            if readable and not self._conn.recv(1, socket.MSG_PEEK):
                return False  # the hook gave up (its timeout) or the agent killed it
        except OSError:
            return False
        return True

    def reply(self, decision: str | None) -> bool:
        with self._lock:
            if self._done.is_set() or not self.alive():
                self._done.set()
                return False
            try:
                self._conn.sendall(json.dumps({"decision": decision}).encode() + b"\n")
            except OSError:
                return False
            finally:
                self._done.set()
            return True

    def wait_closed(self, poll: float = 0.2) -> None:
        """Block until answered or the hook process is gone."""
        while not self._done.wait(poll):
            if not self.alive():
                return


class HookServer:
    """Accepts hook connections on a thread; `on_request` is called on the connection's own
    thread, and `on_gone` when a request ends without a reply (the hook timed out)."""

    def __init__(self, path: Path, on_request: Callable[[HookRequest], None],
                 on_gone: Callable[[HookRequest], None],
                 on_event: Callable[[str, dict[str, Any]], None] | None = None,
                 state_dir: Path | None = None) -> None:
        self.path = path
        # with a registry folder, each request must carry its agent's token (agent_token)
        self.state_dir = state_dir
        self.on_request = on_request
        self.on_gone = on_gone
        self.on_event = on_event  # (agent, payload): Stop, Notification, UserPromptSubmit, …
        self._refuse_live_socket(path)
        self._sock = unixsock.listen(path)
        self._closed = threading.Event()
        self._thread = unixsock.serve(self._sock, self._closed, self._serve, "agentdeck-hooks")

    @staticmethod
    def _refuse_live_socket(path: Path) -> None:
        """Another dashboard of this repository already answers hooks: leave it alone."""
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.settimeout(0.5)
            probe.connect(str(path))
        except OSError:
            return  # stale file from a dashboard that died: safe to replace
        finally:
            probe.close()
        raise FileExistsError(f"another agentdeck dashboard is answering approvals at {path}")

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            request = _read_request(conn)
            if request is None:
                return
            message, req = request
            if self.state_dir is not None and not hmac.compare_digest(
                    str(message.get("token") or ""),
                    agent_token(self.state_dir, str(message["agent"]))):
                log.warning("a hook spoke for %s without its token: refused", message["agent"])
                return  # (closed unanswered: the agent asks in its own screen)
            if message.get("type") == "event":
                if self.on_event is not None:
                    self.on_event(str(message["agent"]), req)
                return
            prompt, always = prompt_for(req, message["cli"])
            hook = HookRequest(str(message["agent"]), message["cli"], prompt, always, conn)
            self.on_request(hook)
            hook.wait_closed()
            if not hook._done.is_set():
                self.on_gone(hook)

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


def _read_request(conn: socket.socket) -> tuple[dict[str, Any], dict[str, Any]] | None:
    conn.settimeout(5.0)
    buf = b""
    try:
        while b"\n" not in buf and len(buf) < 4 << 20:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            buf += chunk
    except OSError:
        return None
    conn.settimeout(None)
    try:
        message = json.loads(buf.split(b"\n", 1)[0])
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("cli") not in HOOK_KINDS:
        return None
    request = message.get("request")
    if not isinstance(request, dict) or not message.get("agent"):
        return None
    return message, request
