"""A scripted ACP agent (the SDK's agent side) for the ACP channel's tests: a real process
speaking the real protocol over stdio, deterministic, no model.

Each prompt is a script by its first word (its task's, in a brief):
- "work": a plan; an execute tool call (`echo ran > ran.txt`) asked for, then run in the
  client's terminal; an edit (notes.txt, new) asked for, then written with fs/write_text_file;
  a write outside the worktree ($ACP_OUTSIDE) tried; a usage_update; tokens in the response.
- "wait": asks to run `sleep 1000` and waits for the answer (a cancel withdraws it).
- "ask N": asks to run `echo ask-0` … `echo ask-N-1` in turn, logging when it sent each.
- "fail": the turn ends with an error that says 429.
- "exit": the process exits (status 3) in the middle of the turn.
- anything else: says "echo: <text>".
Its log of what each permission request got goes to $ACP_LOG (one JSON line each).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from typing import Any

from acp import (
    PROTOCOL_VERSION,
    RequestError,
    run_agent,
    start_tool_call,
    tool_diff_content,
    tool_terminal_ref,
    update_agent_message_text,
    update_plan,
    update_tool_call,
)
from acp.helpers import plan_entry
from acp.schema import (
    AgentCapabilities,
    Cost,
    InitializeResponse,
    LoadSessionResponse,
    NewSessionResponse,
    PermissionOption,
    PromptResponse,
    ToolCallUpdate,
    Usage,
    UsageUpdate,
)

OPTIONS = [PermissionOption(option_id="yes", name="Allow once", kind="allow_once"),
           PermissionOption(option_id="always", name="Allow always", kind="allow_always"),
           PermissionOption(option_id="no", name="Reject", kind="reject_once")]


def record(**fields: Any) -> None:
    path = os.environ.get("ACP_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(fields) + "\n")


class ScriptedAgent:
    def __init__(self) -> None:
        self.conn: Any = None
        self.cwd = os.getcwd()
        self.cancelled = asyncio.Event()

    def on_connect(self, conn: Any) -> None:
        self.conn = conn

    async def initialize(self, protocol_version: int, client_capabilities: Any = None,
                         client_info: Any = None, **kwargs: Any) -> InitializeResponse:
        record(event="initialize", fs=bool(client_capabilities and client_capabilities.fs
                                            and client_capabilities.fs.write_text_file),
               terminal=bool(client_capabilities and client_capabilities.terminal))
        return InitializeResponse(protocol_version=PROTOCOL_VERSION,
                                  agent_capabilities=AgentCapabilities(load_session=True))

    async def new_session(self, cwd: str, mcp_servers: Any = None,
                          **kwargs: Any) -> NewSessionResponse:
        self.cwd = cwd
        return NewSessionResponse(session_id="s-" + uuid.uuid4().hex[:8])

    async def load_session(self, cwd: str, session_id: str, mcp_servers: Any = None,
                           **kwargs: Any) -> LoadSessionResponse:
        self.cwd = cwd
        record(event="load", session_id=session_id)
        await self.say(session_id, f"loaded {session_id}")
        return LoadSessionResponse()

    async def say(self, sid: str, text: str) -> None:
        await self.conn.session_update(session_id=sid, update=update_agent_message_text(text))

    async def ask(self, sid: str, call_id: str, **call: Any) -> str | None:
        response = await self.conn.request_permission(
            session_id=sid, options=OPTIONS,
            tool_call=ToolCallUpdate(tool_call_id=call_id, **call))
        outcome = response.outcome
        chosen = getattr(outcome, "option_id", None)
        record(event="permission", tool_call_id=call_id, outcome=outcome.outcome,
               option=chosen)
        return chosen

    async def prompt(self, prompt: list[Any], session_id: str, **kwargs: Any) -> PromptResponse:
        text = " ".join(getattr(b, "text", "") for b in prompt).strip()
        sid = session_id
        self.cancelled.clear()
        # (a fleet's agent gets its brief first: the script is its task's first word)
        script = text.split("Your task:", 1)[-1].split()
        word = script[0] if script else ""
        if word == "ask":  # "ask N": N commands asked in turn (bench/acp_queue.py)
            for i in range(int(script[1]) if len(script) > 1 else 1):
                record(event="asking", command=f"echo ask-{i}", at=time.time())
                await self.ask(sid, f"ask-{i}", title=f"ask {i}", kind="execute",
                               raw_input={"command": f"echo ask-{i}"})
            return PromptResponse(stop_reason="end_turn")
        if word == "exit":  # the agent dies on its own
            os._exit(3)
        if word == "fail":
            raise RequestError.internal_error({"message": "429 Too Many Requests: quota"})
        if word == "wait":
            asking = asyncio.ensure_future(self.ask(
                sid, "wait-1", title="sleep", kind="execute", raw_input={"command": "sleep 1000"}))
            cancelled = asyncio.ensure_future(self.cancelled.wait())
            await asyncio.wait({asking, cancelled}, return_when=asyncio.FIRST_COMPLETED)
            if cancelled.done():
                asking.cancel()
                return PromptResponse(stop_reason="cancelled")
            return PromptResponse(stop_reason="end_turn")
        if word != "work":
            await self.say(sid, f"echo: {text}")
            return PromptResponse(stop_reason="end_turn")
        await self.conn.session_update(session_id=sid, update=update_plan([
            plan_entry("run a command", status="in_progress"), plan_entry("write notes")]))
        await self.say(sid, "Running a command first.")
        command = os.environ.get("ACP_COMMAND") or "echo ran > ran.txt"
        await self.conn.session_update(session_id=sid, update=start_tool_call(
            "call-1", "echo ran", kind="execute", status="pending",
            raw_input={"command": command}))
        if await self.ask(sid, "call-1", kind="execute", title="echo ran",
                          raw_input={"command": command}) in ("yes", "always"):
            term = await self.conn.create_terminal(session_id=sid, command="/bin/sh",
                                                   args=["-c", command], cwd=self.cwd)
            await self.conn.session_update(session_id=sid, update=update_tool_call(
                "call-1", status="in_progress", content=[tool_terminal_ref(term.terminal_id)]))
            await self.conn.wait_for_terminal_exit(session_id=sid, terminal_id=term.terminal_id)
            await self.conn.release_terminal(session_id=sid, terminal_id=term.terminal_id)
            await self.conn.session_update(session_id=sid, update=update_tool_call(
                "call-1", status="completed"))
        else:
            await self.conn.session_update(session_id=sid, update=update_tool_call(
                "call-1", status="failed"))
        notes = os.path.join(self.cwd, "notes.txt")
        diff = tool_diff_content(notes, "hello\nworld\n", None)
        await self.conn.session_update(session_id=sid, update=start_tool_call(
            "call-2", "Write notes.txt", kind="edit", status="pending", content=[diff]))
        if await self.ask(sid, "call-2", kind="edit", title="Write notes.txt",
                          content=[diff]) in ("yes", "always"):
            await self.conn.write_text_file(session_id=sid, path=notes,
                                            content="hello\nworld\n")
            await self.conn.session_update(session_id=sid, update=update_tool_call(
                "call-2", status="completed"))
        else:
            await self.conn.session_update(session_id=sid, update=update_tool_call(
                "call-2", status="failed"))
        outside = os.environ.get("ACP_OUTSIDE")
        if outside:
            try:
                await self.conn.write_text_file(session_id=sid, path=outside, content="x")
                record(event="outside", written=True)
            except RequestError as exc:
                record(event="outside", written=False, error=str(exc))
        await self.conn.session_update(session_id=sid, update=UsageUpdate(
            session_update="usage_update", used=1200, size=200000,
            cost=Cost(amount=0.25, currency="USD")))
        await self.say(sid, "Done.")
        return PromptResponse(stop_reason="end_turn", usage=Usage(
            total_tokens=1500, input_tokens=1200, output_tokens=300))

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        record(event="cancel")
        self.cancelled.set()

    async def authenticate(self, method_id: str, **kwargs: Any) -> None:
        return None


def main() -> None:
    asyncio.run(run_agent(ScriptedAgent()))


if __name__ == "__main__":
    sys.exit(main())
