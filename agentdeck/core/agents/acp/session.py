"""An ACP agent run by the session host: its process, the protocol's connection to it
(`agent-client-protocol`'s ClientSideConnection) on an event loop of its own thread, and the
state the protocol gives — working while a prompt turn runs, waiting while a permission request
is open, idle at the turn's end, rate-limited when its error says so, exited.

It is a `LocalSession` to the host (same table, same info, same lifecycle: spawn, stop, forget,
outlive the dashboard in the session host), with a terminal screen that holds the conversation's
log — so transcripts, `agentdeck logs`, mirrors and the browser see it as they see any agent —
and a `Conversation` a dashboard lays out itself. Keys written to it (`i` typing, `m` messages,
the host's write) are prompts: a line at Enter; Esc or Ctrl-C cancels the turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentdeck import __version__
from agentdeck.core.agents.acp.conversation import Conversation
from agentdeck.core.agents.acp.permission import AcpRequest, Router
from agentdeck.core.agents.sessions.host import (
    EXITED,
    FAILED,
    RUNNING,
    STOPPED,
    SessionSpec,
)
from agentdeck.core.agents.sessions.pty_session import LocalSession
from agentdeck.core.files import write_private
from agentdeck.core.proctree import MARKER, end_tree
from agentdeck.core.screen.detect import IDLE, WAITING, WORKING, Detection
from agentdeck.core.screen.terminal import Emulator

RATE_LIMITED = "rate-limited"
CANCEL_KEYS = (b"\x1b", b"\x03")  # Esc, Ctrl-C: cancel the turn
PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"  # a paste: its newlines are the prompt's


def rate_limited(message: str) -> bool:
    text = message.lower()
    return any(m in text for m in ("429", "rate limit", "rate-limit", "quota",
                                   "resource_exhausted", "too many requests"))


def last_words(text: str) -> str:
    """The last line of an agent's stderr that says something: an error printed as an object
    over several lines (claude-agent-acp's) ends in "}"."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return next((line for line in reversed(lines) if re.search(r"[A-Za-z]{3}", line)),
                lines[-1] if lines else "")


def turn_tokens(response: Any) -> tuple[int, int] | None:
    """The tokens (in, out) a prompt turn used: the protocol's `usage` (unstable), else Gemini
    CLI's `_meta.quota.token_count` (0.61 reports it there)."""
    usage = getattr(response, "usage", None)
    if usage is not None:
        return int(usage.input_tokens), int(usage.output_tokens)
    meta = getattr(response, "field_meta", None) or {}
    quota = meta.get("quota") if isinstance(meta, dict) else None
    count = quota.get("token_count") if isinstance(quota, dict) else None
    if isinstance(count, dict):
        with contextlib.suppress(TypeError, ValueError):
            return int(count.get("input_tokens") or 0), int(count.get("output_tokens") or 0)
    return None


class AcpSession(LocalSession):
    structured = True  # the watcher reads no screen of it: its state comes by the protocol

    def __init__(self, spec: SessionSpec, emulator: Emulator,
                 take: Callable[[AcpSession, bytes], None],
                 changed: Callable[[AcpSession], None], router: Router | None) -> None:
        super().__init__(spec, emulator)
        self.info.channel = "acp"
        self._pasting = False
        self.conversation = Conversation()
        self._take, self._changed, self.router = take, changed, router
        self._loop: asyncio.AbstractEventLoop | None = None
        self._prompts: asyncio.Queue[str] | None = None
        self._main: asyncio.Task[None] | None = None
        self._line = b""
        self._open: set[AcpRequest] = set()
        self.session_id: str | None = None
        self.can_load = False
        self.turn_running = False
        # this turn's tokens: whether the agent reported them, and the sum of its context
        # reports (`usage_update.used`), counted when it reports nothing else
        self._turn_reported = False
        self._turn_context = 0
        self.pid: int | None = None
        self.ready = threading.Event()  # the session is made (or failed): prompts go now
        self.stderr_tail = b""
        self._conn: Any = None
        self._process: Any = None

    # -- the host's side -------------------------------------------------------------------------
    def start(self) -> None:
        self.marker = uuid.uuid4().hex
        self.info.process = RUNNING
        self.info.state = WORKING
        self.info.last_output = time.monotonic()
        self.reader = threading.Thread(target=self._run, name=f"agentdeck-acp-{self.spec.name}",
                                       daemon=True)
        self.reader.start()

    def log(self, text: str) -> None:
        """Add to the conversation's log (the session's screen): the host feeds it as output."""
        if text:
            self._take(self, text.replace("\r\n", "\n").replace("\n", "\r\n").encode())

    def write(self, data: bytes) -> None:
        """Keys from the user: a line is a prompt at Enter, Esc / Ctrl-C cancel the turn."""
        if data in CANCEL_KEYS:
            self.cancel()
            return
        i = 0
        while i < len(data):
            if data.startswith(PASTE_START, i) or data.startswith(PASTE_END, i):
                self._pasting = data.startswith(PASTE_START, i)
                i += len(PASTE_START)
                continue
            char = data[i]
            i += 1
            if char == 0x1B:  # an arrow or function key: no place in a prompt
                if i < len(data) and data[i] in b"[O":
                    i += 1
                    while i < len(data) and not 0x40 <= data[i] <= 0x7E:
                        i += 1
                i += 1
            elif char in (0x0D, 0x0A) and self._pasting:
                self._line += b"\n"
            elif char in (0x0D, 0x0A):
                text, self._line = self._line.decode("utf-8", "replace").strip(), b""
                if text:
                    self.prompt(text)
            elif char in (0x7F, 0x08):  # Backspace edits the line being typed
                self._line = self._line[:-1]
            elif char >= 0x20 or char == 0x09:
                self._line += bytes([char])

    def prompt(self, text: str) -> None:
        loop, prompts = self._loop, self._prompts
        if loop is None or prompts is None or self.info.process != RUNNING:
            raise ValueError(f"{self.spec.name} is not running")
        loop.call_soon_threadsafe(prompts.put_nowait, text)

    def cancel(self) -> None:
        """`session/cancel`: the agent ends its turn; its open requests are withdrawn."""
        loop = self._loop
        if loop is not None and self.turn_running:
            loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._cancel()))

    def stop(self, timeout: float) -> None:
        """End the agent and every process it started (politely first, as a PTY agent's
        stop does); its connection ends with it."""
        self.stopping = True
        if self.pid is not None or self.marker:
            end_tree(self.pid or -1, timeout, self.marker, reap=False)  # (asyncio's to reap)
        loop, main = self._loop, self._main
        if loop is not None and main is not None:
            with contextlib.suppress(RuntimeError):  # (its loop ended meanwhile)
                loop.call_soon_threadsafe(main.cancel)
        if self.reader is not None:
            self.reader.join(timeout)

    # -- state ---------------------------------------------------------------------------------
    def _state(self, state: str, detail: str | None = None) -> None:
        with self.lock:
            if self.info.process != RUNNING:
                return
            self.info.state = state
            self.info.detection = Detection(state, None, None, detail)
        self._changed(self)

    def asking(self, request: AcpRequest) -> None:
        self._open.add(request)
        # (the entry first: what a user waits for, before the state's news)
        if self.router is not None:
            self.router.hook_request(request)
        else:  # nobody to ask (no queue attached): the agent asks again, or goes on
            request.reply(None)
        if request.alive():  # (a rule may have answered it already)
            self._state(WAITING)

    def answered(self, request: AcpRequest) -> None:
        self._open.discard(request)
        if request.alive() and self.router is not None:
            request.reply(None)
            self.router.hook_withdrawn(request, "its turn was cancelled")
        if not self._open and self.info.state == WAITING:
            self._state(WORKING if self.turn_running else IDLE)

    def refused(self, kind: str, path: str, why: str) -> None:
        self.log(self.conversation.note(f"refused: {why}"))
        if self.router is not None:
            self.router.refused(self.spec.name, kind, path, why, "acp")

    def usage_seen(self, tokens: tuple[int, int] | None = None,
                   context: tuple[Any, Any] | None = None, cost: float | None = None) -> None:
        info = self.info
        if context is not None and isinstance(context[0], int):
            self._turn_context += context[0]
        if tokens is not None:
            self._turn_reported = True
            info.tokens_in += tokens[0]
            info.tokens_out += tokens[1]
        if cost is not None:
            info.cost = cost
        total = info.tokens_in + info.tokens_out
        parts = [f"{total / 1000:.1f}k tok" if total >= 1000 else f"{total} tok"] if total else []
        if info.cost is not None:
            parts.append(f"${info.cost:.2f}")
        info.usage = " ".join(parts)
        self._changed(self)

    # -- the loop ------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # (whatever ends it, the session ends)
            self.log(self.conversation.note(f"the connection ended: {exc}"))
        self._finish()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._prompts = asyncio.Queue()
        self._main = asyncio.current_task()
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await self._connect()
        finally:
            # its pipes closed while the loop still runs (a stop cancels the connection: left
            # to the collector, they are closed on a closed loop, which complains)
            transport = getattr(self._process, "_transport", None)
            if transport is not None:
                with contextlib.suppress(Exception):
                    transport.close()

    async def _connect(self) -> None:
        from acp import PROTOCOL_VERSION, spawn_agent_process
        from acp.schema import ClientCapabilities, FileSystemCapabilities, Implementation

        from agentdeck.core.agents.acp.client import DeckClient

        spec = self.spec
        client = DeckClient(self)
        env = {**spec.env, MARKER: self.marker}
        try:
            async with spawn_agent_process(client, spec.argv[0], *spec.argv[1:], env=env,
                                           cwd=spec.cwd) as (conn, process):
                self.pid = self.info.pid = process.pid
                self._conn, self._process = conn, process
                stderr = asyncio.ensure_future(self._drain(process.stderr))
                ended = asyncio.ensure_future(self._ended(process))
                try:
                    init = await conn.initialize(
                        protocol_version=PROTOCOL_VERSION,
                        client_capabilities=ClientCapabilities(
                            fs=FileSystemCapabilities(read_text_file=True,
                                                      write_text_file=True),
                            terminal=True),
                        client_info=Implementation(name="agentdeck", version=__version__))
                    caps = init.agent_capabilities
                    self.can_load = bool(caps is not None and caps.load_session)
                    await self._open_session(conn)
                    self.ready.set()
                    first = spec.prompt
                    if first:
                        self._prompts_put(first)
                    else:
                        self._state(IDLE)
                    while True:
                        text = await self._prompts_get()
                        await self._turn(conn, text)
                finally:
                    client.terminals.close()
                    stderr.cancel()
                    ended.cancel()
        except (OSError, ValueError) as exc:
            self.log(self.conversation.note(f"{spec.argv[0]}: cannot start ({exc})"))
            self.info.error = str(exc)
        finally:
            self.ready.set()

    def _prompts_put(self, text: str) -> None:
        assert self._prompts is not None
        self._prompts.put_nowait(text)

    async def _prompts_get(self) -> str:
        assert self._prompts is not None
        return await self._prompts.get()

    async def _ended(self, process: Any) -> None:
        """The agent's process ended by itself (or was ended): so does its session, whatever
        the loop was waiting for."""
        await process.wait()
        if self._main is not None:
            self._main.cancel()

    async def _drain(self, stream: asyncio.StreamReader | None) -> None:
        """The agent's stderr: read (a full pipe would block it), its end kept for errors."""
        if stream is None:
            return
        while data := await stream.read(65536):
            self.stderr_tail = (self.stderr_tail + data)[-4096:]

    async def _open_session(self, conn: Any) -> None:
        spec = self.spec
        saved = self._saved_id() if spec.resume else None
        if saved and self.can_load:
            try:
                await conn.load_session(cwd=spec.cwd, session_id=saved, mcp_servers=[])
                self.session_id = saved
                self.log(self.conversation.note(f"resumed session {saved}"))
                return
            except Exception as exc:  # (any refusal: a new session instead)
                why = getattr(exc, "data", None) or exc
                self.log(self.conversation.note(f"could not resume ({why}): a new session"))
        made = await conn.new_session(cwd=spec.cwd, mcp_servers=[])
        self.session_id = made.session_id
        if spec.state_file:
            with contextlib.suppress(OSError):
                path = Path(spec.state_file)
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                write_private(path, json.dumps({"session_id": made.session_id}))

    def _saved_id(self) -> str | None:
        if not self.spec.state_file:
            return None
        try:
            return str(json.loads(Path(self.spec.state_file).read_text())["session_id"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    async def _turn(self, conn: Any, text: str) -> None:
        from acp import text_block

        self.log(self.conversation.user(text))
        self._turn_reported, self._turn_context = False, 0
        self.turn_running = True
        self._state(WORKING)
        try:
            response = await conn.prompt(session_id=self.session_id, prompt=[text_block(text)])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # (the agent's error: shown, its state)
            self.turn_running = False
            message = str(getattr(exc, "data", None) or exc)
            self.log(self.conversation.note(f"error: {message}"))
            self._state(RATE_LIMITED if rate_limited(message) else IDLE,
                        "gave up: 429" if rate_limited(message) else None)
            return
        self.turn_running = False
        tokens = turn_tokens(response)
        if tokens is None and not self._turn_reported and self._turn_context:
            # codex-acp 0.16 reports a model call's tokens only as the context it fills
            # (`usage_update.used`: the call's input and output, once per call): their sum,
            # as input (it does not split them)
            tokens = (self._turn_context, 0)
        if tokens is not None:
            self.usage_seen(tokens=tokens)
        reason = str(getattr(response, "stop_reason", "end_turn"))
        if reason != "end_turn":
            self.log(self.conversation.note(f"turn ended: {reason}"))
        self._state(IDLE)

    async def _cancel(self) -> None:
        for request in list(self._open):
            self.answered_cancelled(request)
        if self._conn is not None and self.session_id is not None:
            with contextlib.suppress(Exception):
                await self._conn.cancel(session_id=self.session_id)

    def answered_cancelled(self, request: AcpRequest) -> None:
        if request.reply(None) and self.router is not None:
            self.router.hook_withdrawn(request, "its turn was cancelled")

    def _finish(self) -> None:
        for request in list(self._open):
            self.answered_cancelled(request)
        tail = self.stderr_tail.decode("utf-8", "replace").strip()
        with self.lock:
            failed = self.session_id is None and not self.stopping
            if failed and tail:
                self.info.error = last_words(tail)[:300]
            if self._process is not None:
                self.info.exit_code = self._process.returncode
            self.info.state = STOPPED if self.stopping else (FAILED if failed else EXITED)
            self.info.detection = Detection(EXITED)
            self.info.process = FAILED if failed else EXITED
        if failed and tail:
            self.log(self.conversation.note(tail[-1000:]))
        self._changed(self)
