"""OpenAI chat completions with tool calls, for the CLIs that speak it (opencode, Kilo, Qwen
Code, Copilot CLI): the same script as the other wire formats — a shell command, then a file
write, then the final text — in the tools the request itself offers. Each CLI names its tools
and their arguments its own way (`bash` or `run_shell_command`; `write`, `write_file` or
`create`; `filePath`, `file_path` or `path`), so the names are read from the request's schemas.
A request without tools (a title, a summary) gets plain text and does not move the script.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

SHELL_TOOLS = ("bash", "run_shell_command", "shell", "local_shell")
WRITE_TOOLS = ("write", "write_file", "create")
COMMAND_ARGS = ("command",)
PATH_ARGS = ("filePath", "file_path", "path")
CONTENT_ARGS = ("content", "file_text")


def _schemas(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for tool in body.get("tools") or []:
        fn = tool.get("function", tool)
        if isinstance(fn, dict) and fn.get("name"):
            out[fn["name"]] = (fn.get("parameters") or {}).get("properties") or {}
    return out


def _pick(names: tuple[str, ...], offered: dict[str, Any]) -> str | None:
    return next((n for n in names if n in offered), None)


def tool_call(step: tuple[str, dict[str, Any]], body: dict[str, Any],
              file_path: Callable[[str], str]) -> tuple[str, dict[str, Any]] | None:
    """The scripted step as (tool name, arguments) in the request's own tools, or None when
    the request offers no such tool."""
    tools = _schemas(body)
    what, args = step
    name = _pick(SHELL_TOOLS if what == "bash" else WRITE_TOOLS, tools)
    if name is None:
        return None
    props = tools[name]
    if what == "bash":
        out: dict[str, Any] = {"command": args["command"]}
        if "description" in props:
            out["description"] = "Run the scripted command"
        if "mode" in props:  # Copilot CLI: wait for it, do not run it in the background
            out["mode"] = "sync"
        if "initial_wait" in props:
            out["initial_wait"] = 30
        return name, out
    path_arg = _pick(PATH_ARGS, props) or "file_path"
    content_arg = _pick(CONTENT_ARGS, props) or "content"
    return name, {path_arg: file_path(args["file_path"]), content_arg: args["content"]}


def tool_results(body: dict[str, Any]) -> int:
    return sum(1 for m in body.get("messages", []) if m.get("role") == "tool")


def chat_reply(reply: str | tuple[str, dict[str, Any]], model: str
               ) -> tuple[Any, Iterator[tuple[str | None, Any]]]:
    """A whole chat.completion and its stream of chunks: text, or one tool call."""
    chat_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    if isinstance(reply, str):
        message: dict[str, Any] = {"role": "assistant", "content": reply}
        finish = "stop"
    else:
        name, args = reply
        call = {"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                "function": {"name": name, "arguments": json.dumps(args)}}
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        finish = "tool_calls"
    whole = {"id": chat_id, "object": "chat.completion", "model": model, "usage": usage,
             "choices": [{"index": 0, "message": message, "finish_reason": finish}]}

    def events() -> Iterator[tuple[str | None, Any]]:
        base = {"id": chat_id, "object": "chat.completion.chunk", "model": model}
        yield None, {**base, "choices": [{"index": 0, "delta": {"role": "assistant",
                                                                 "content": ""}}]}
        if isinstance(reply, str):
            yield None, {**base, "choices": [{"index": 0, "delta": {"content": reply}}]}
        else:
            call = message["tool_calls"][0]
            yield None, {**base, "choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": 0, **call}]}}]}
        yield None, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}
        yield None, {**base, "choices": [], "usage": usage}
        yield None, "[DONE]"

    return whole, events()
