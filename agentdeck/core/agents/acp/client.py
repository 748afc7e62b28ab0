"""agentdeck as an ACP agent's client: the methods the agent calls (`acp.Client`).

- `session/update`: into the conversation (messages, thoughts, plan, tool cards, usage);
- `session/request_permission`: a queue entry (permission.py), answered once from the queue;
- `fs/read_text_file`, `fs/write_text_file`: only inside the agent's worktree — a path outside
  it (a link included: paths are resolved first) is refused, and the refusal is audited;
- `terminal/*`: commands run in agentdeck's PTYs (terminals.py), in the worktree.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acp import RequestError
from acp.schema import (
    AllowedOutcome,
    CreateTerminalResponse,
    DeniedOutcome,
    KillTerminalResponse,
    ReadTextFileResponse,
    ReleaseTerminalResponse,
    RequestPermissionResponse,
    TerminalExitStatus,
    TerminalOutputResponse,
    WaitForTerminalExitResponse,
    WriteTextFileResponse,
)

from agentdeck.core.agents.acp.conversation import Diff, PlanStep
from agentdeck.core.agents.acp.permission import AcpRequest, Option, prompt_for
from agentdeck.core.agents.acp.terminals import Terminals, environment
from agentdeck.core.files import atomic_write

if TYPE_CHECKING:
    from agentdeck.core.agents.acp.session import AcpSession


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def tool_parts(call: Any) -> tuple[str, list[Diff], list[str], list[str]]:
    """A tool call's content as (text output, diffs, terminal ids) and its locations' paths."""
    texts: list[str] = []
    diffs: list[Diff] = []
    terminals: list[str] = []
    for part in _get(call, "content") or []:
        kind = _get(part, "type")
        if kind == "diff":
            diffs.append(Diff(str(_get(part, "path")), _get(part, "old_text"),
                              str(_get(part, "new_text") or "")))
        elif kind == "terminal":
            terminals.append(str(_get(part, "terminal_id")))
        else:
            block = _get(part, "content")
            text = _get(block, "text")
            if text:
                texts.append(str(text))
    paths = [str(_get(loc, "path")) for loc in _get(call, "locations") or []]
    return "\n".join(texts), diffs, terminals, paths


def inside_sandbox(agent_argv: Sequence[str], argv: list[str], cwd: str) -> list[str]:
    """A terminal's command as its agent runs: an agent started inside bubblewrap (its
    command line `bwrap … --chdir DIR -- agent …`, core/agents/sandbox.py) has its commands run
    inside the same fence, in `cwd`; any other's as they are."""
    if not agent_argv or Path(agent_argv[0]).name != "bwrap" or "--" not in agent_argv:
        return argv
    prefix = list(agent_argv[:list(agent_argv).index("--")])
    for i in range(len(prefix) - 1):
        if prefix[i] == "--chdir":
            prefix[i + 1] = cwd
    return [*prefix, "--", *argv]


def chunk_tokens(meta: Any) -> tuple[int, int] | None:
    """The tokens (in, out) of one model call, where an agent reports them in a message
    chunk's `_meta.usage` (Qwen Code 0.24: an empty chunk after each call)."""
    usage = meta.get("usage") if isinstance(meta, dict) else None
    if not isinstance(usage, dict):
        return None
    try:
        return int(usage.get("inputTokens") or 0), int(usage.get("outputTokens") or 0)
    except (TypeError, ValueError):
        return None


class DeckClient:
    """The client side of one ACP agent's connection."""

    def __init__(self, session: AcpSession) -> None:
        self.session = session
        self.terminals = Terminals()
        self.root = Path(os.path.realpath(session.spec.cwd))

    # -- conversation ------------------------------------------------------------------------
    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        s = self.session
        kind = _get(update, "session_update")
        conv = s.conversation
        if kind in ("agent_message_chunk", "agent_thought_chunk", "user_message_chunk"):
            tokens = chunk_tokens(_get(update, "field_meta"))
            if tokens is not None:
                s.usage_seen(tokens=tokens)
            text = _get(_get(update, "content"), "text")
            if text:
                add = {"agent_message_chunk": conv.agent, "agent_thought_chunk": conv.thought,
                       "user_message_chunk": conv.user}[kind]
                s.log(add(str(text)))
        elif kind in ("tool_call", "tool_call_update"):
            output, diffs, terminals, paths = tool_parts(update)
            s.log(conv.tool(str(_get(update, "tool_call_id")), _get(update, "title"),
                            _get(update, "kind"), _get(update, "status"), output or None,
                            diffs, terminals, paths))
        elif kind == "plan":
            s.log(conv.set_plan([PlanStep(str(_get(e, "content")), str(_get(e, "status")),
                                          str(_get(e, "priority"))) for e in
                                 _get(update, "entries") or []]))
        elif kind == "usage_update":
            cost = _get(update, "cost")
            s.usage_seen(context=(_get(update, "used"), _get(update, "size")),
                         cost=float(_get(cost, "amount")) if cost is not None else None)

    # -- permissions ---------------------------------------------------------------------------
    async def request_permission(self, session_id: str, tool_call: Any, options: list[Any],
                                 **kwargs: Any) -> RequestPermissionResponse:
        s = self.session
        tool_id = str(_get(tool_call, "tool_call_id"))
        _, diffs, _, paths = tool_parts(tool_call)
        card = s.conversation.tools.get(tool_id)
        offered = [Option(str(_get(o, "option_id")), str(_get(o, "name")), str(_get(o, "kind")))
                   for o in options]
        prompt = prompt_for(s.spec.agent, tool_id,
                            _get(tool_call, "kind") or (card.kind if card else None),
                            _get(tool_call, "title") or (card.title if card else None),
                            _get(tool_call, "raw_input"), diffs or (card.diffs if card else []),
                            paths, offered)
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str | None] = loop.create_future()

        def done(option: str | None) -> None:  # (on the answering thread)
            def settle() -> None:
                if not answer.done():
                    answer.set_result(option)
            with contextlib.suppress(RuntimeError):  # (its loop ended: nobody waits now)
                loop.call_soon_threadsafe(settle)

        request = AcpRequest(s.spec.name, s.spec.agent, tool_id, prompt, offered, done)
        s.asking(request)
        try:
            option = await answer
        finally:
            s.answered(request)  # (cancelled too: its turn ended, the entry is withdrawn)
        if option is None:
            return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))
        return RequestPermissionResponse(outcome=AllowedOutcome(option_id=option,
                                                                outcome="selected"))

    # -- files ---------------------------------------------------------------------------------
    def _inside(self, path: str, what: str) -> Path:
        """`path` resolved (links followed), if it is inside the worktree; else refused (and
        the refusal audited)."""
        resolved = Path(os.path.realpath(path if os.path.isabs(path)
                                         else os.path.join(self.root, path)))
        why = None
        if resolved != self.root and self.root not in resolved.parents:
            why = f"{path} is outside the agent's worktree {self.root}"
        elif what == "write":
            inside = resolved.relative_to(self.root).as_posix()
            hit = next((p for p in self.session.spec.forbid
                        if inside == p.strip("/") or inside.startswith(p.strip("/") + "/")),
                       None)
            if hit is not None:  # (a scope the fleet keeps from it: `forbid:`)
                why = f"{path} is in {hit}, which the agent must not touch (forbid)"
        if why is not None:
            self.session.refused("write" if what == "write" else "read", path, why)
            raise RequestError.invalid_params({"path": path, "reason": why})
        return resolved

    async def read_text_file(self, session_id: str, path: str, line: int | None = None,
                             limit: int | None = None, **kwargs: Any) -> ReadTextFileResponse:
        target = self._inside(path, "read")
        try:
            text = await asyncio.to_thread(target.read_text, "utf-8", "replace")
        except FileNotFoundError:
            # a file not yet there reads as empty, as an editor's new buffer does (Zed's):
            # Gemini CLI 0.61 reads a file before it writes it, and takes the SDK's "Resource
            # not found" error for a failure, not for "no such file" — its write then fails
            text = ""
        except OSError as exc:
            raise RequestError.resource_not_found(path) from exc
        if line is not None or limit is not None:
            lines = text.splitlines(keepends=True)
            start = max((line or 1) - 1, 0)
            text = "".join(lines[start:start + limit if limit is not None else None])
        return ReadTextFileResponse(content=text)

    async def write_text_file(self, session_id: str, path: str, content: str,
                              **kwargs: Any) -> WriteTextFileResponse | None:
        target = self._inside(path, "write")
        try:
            await asyncio.to_thread(self._write, target, content)
        except OSError as exc:
            raise RequestError.internal_error({"path": path, "reason": str(exc)}) from exc
        return WriteTextFileResponse()

    @staticmethod
    def _write(target: Path, content: str) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, content)

    # -- terminals -----------------------------------------------------------------------------
    async def create_terminal(self, session_id: str, command: str, args: list[str] | None = None,
                              env: list[Any] | None = None, cwd: str | None = None,
                              output_byte_limit: int | None = None,
                              **kwargs: Any) -> CreateTerminalResponse:
        where = self._inside(cwd, "read") if cwd else self.root
        extra = [(str(_get(e, "name")), str(_get(e, "value"))) for e in env or []]
        base = self.session.spec.env
        argv = [command, *(args or [])] if args else ["/bin/sh", "-c", command]
        argv = inside_sandbox(self.session.spec.argv, argv, str(where))
        try:
            terminal = await asyncio.to_thread(self.terminals.create, argv, str(where),
                                               environment(base, extra), output_byte_limit)
        except (OSError, pexpect_error()) as exc:
            raise RequestError.internal_error({"command": command, "reason": str(exc)}) from exc
        return CreateTerminalResponse(terminal_id=terminal.id)

    async def terminal_output(self, session_id: str, terminal_id: str,
                              **kwargs: Any) -> TerminalOutputResponse:
        terminal = self._terminal(terminal_id)
        status = (TerminalExitStatus(exit_code=terminal.exit_code, signal=terminal.signal)
                  if terminal.ended.is_set() else None)
        return TerminalOutputResponse(output=terminal.output, truncated=terminal.truncated,
                                      exit_status=status)

    async def wait_for_terminal_exit(self, session_id: str, terminal_id: str,
                                     **kwargs: Any) -> WaitForTerminalExitResponse:
        terminal = self._terminal(terminal_id)
        await asyncio.to_thread(terminal.ended.wait)
        self.session.log(self.session.conversation.terminal_ended(terminal_id, terminal.output))
        return WaitForTerminalExitResponse(exit_code=terminal.exit_code, signal=terminal.signal)

    async def kill_terminal(self, session_id: str, terminal_id: str,
                            **kwargs: Any) -> KillTerminalResponse | None:
        await asyncio.to_thread(self._terminal(terminal_id).kill)
        return KillTerminalResponse()

    async def release_terminal(self, session_id: str, terminal_id: str,
                               **kwargs: Any) -> ReleaseTerminalResponse | None:
        with contextlib.suppress(KeyError):
            terminal = self._terminal(terminal_id)
            if terminal_id not in self.session.conversation.terminal_output:
                self.session.log(self.session.conversation.terminal_ended(
                    terminal_id, terminal.output))
        await asyncio.to_thread(self.terminals.release, terminal_id)
        return ReleaseTerminalResponse()

    def _terminal(self, terminal_id: str) -> Any:
        try:
            return self.terminals.get(terminal_id)
        except KeyError:
            raise RequestError.invalid_params({"terminalId": terminal_id}) from None

    # -- the rest of the protocol: not offered ---------------------------------------------
    async def create_elicitation(self, message: str, mode: Any, **kwargs: Any) -> Any:
        raise RequestError.method_not_found("elicitation/create")

    async def complete_elicitation(self, elicitation_id: str, **kwargs: Any) -> None:
        return None

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        raise RequestError.method_not_found(method)

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        return None

    def on_connect(self, conn: Any) -> None:
        return None


def pexpect_error() -> type[Exception]:
    import pexpect

    return pexpect.ExceptionPexpect
