"""A scripted model server on 127.0.0.1 for running the real agent CLIs offline.

One server speaks the three wire formats the CLIs call: the Anthropic Messages API (Claude
Code), the OpenAI Responses API (Codex CLI) and OpenAI chat completions (Aider), streaming and
not. Every conversation follows the same script: ask for a shell command, then for a file write,
then end the turn. Which step a request is at is read from the request itself (how many tool
results it carries), so retries and side requests (titles, summaries) do not move the script.
Every request is logged (`requests`, and a JSONL file when `log_path` is given) so a failing
scenario shows what the CLI sent.

Run by hand: `python tests/e2e/fake_models.py --port 8765 --command 'echo hi' --file out.txt`.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

if not __package__:  # run by hand as a script (see above): the repository's root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.e2e.fake_chat_tools import chat_reply, tool_call, tool_results


@dataclass
class Script:
    command: str = "echo ran > ran.txt"
    file_path: str = "notes.txt"  # relative to the agent's folder unless absolute
    file_content: str = "written by the scripted model\n"
    codex_patch: bool = False  # Codex writes the file with an apply_patch heredoc, as it does
    final_text: str = "All done."

    def step(self, tool_results: int) -> tuple[str, dict[str, Any]] | str:
        """("bash"|"write", input) for a tool step, or the final text."""
        if tool_results == 0:
            return ("bash", {"command": self.command})
        if tool_results == 1:
            return ("write", {"file_path": self.file_path, "content": self.file_content})
        return self.final_text


@dataclass
class FakeModelServer:
    script: Script = field(default_factory=Script)
    cwd: Path | None = None  # where relative file paths of the script point
    log_path: Path | None = None
    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # model lists, health checks
                server._log(self.path, None)
                body = {"data": [{"id": "fake-model", "object": "model"}], "object": "list"}
                self._json(body)

            def do_HEAD(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"unparsed": raw.decode("utf-8", "replace")}
                server._log(self.path, body)
                path = self.path.split("?")[0]
                if path.endswith(":countTokens"):
                    self._json({"totalTokens": 10})
                elif path.endswith((":generateContent", ":streamGenerateContent")):
                    stream = path.endswith(":streamGenerateContent")
                    self._answer(server._gemini(body), stream, "gemini")
                elif path.endswith("/messages/count_tokens"):
                    self._json({"input_tokens": 10})
                elif path.endswith("/messages"):
                    self._answer(server._anthropic(body), body.get("stream"), "anthropic")
                elif path.endswith("/responses"):
                    self._answer(server._responses(body), body.get("stream"), "responses")
                elif path.endswith("/chat/completions"):
                    self._answer(server._chat(body), body.get("stream"), "chat")
                else:
                    self.send_error(404)

            def _json(self, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _answer(self, reply: tuple[Any, Iterator[tuple[str | None, Any]]],
                        stream: object, kind: str) -> None:
                whole, events = reply
                if not stream:
                    self._json(whole)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                for name, data in events:
                    text = f"event: {name}\n" if name else ""
                    payload = data if isinstance(data, str) else json.dumps(data)
                    self.wfile.write(f"{text}data: {payload}\n\n".encode())
                    self.wfile.flush()
                self.close_connection = True

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeModelServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _log(self, path: str, body: Any) -> None:
        record = {"path": path, "body": body}
        self.requests.append(record)
        if self.log_path is not None:
            with self.log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")

    def _file_path(self, path: str) -> str:
        if self.cwd is not None and not Path(path).is_absolute():
            return str(self.cwd / path)
        return path

    # -- Anthropic Messages -----------------------------------------------------------------
    def _anthropic(self, body: dict[str, Any]) -> tuple[Any, Iterator[tuple[str | None, Any]]]:
        messages = [m for m in body.get("messages", []) if m.get("role") in ("user", "assistant")]
        results = sum(1 for m in messages if m["role"] == "user"
                      for block in _blocks(m) if block.get("type") == "tool_result")
        has_tools = bool(body.get("tools"))
        step = self.script.step(results) if has_tools else "agentdeck test"
        msg_id = f"msg_{uuid.uuid4().hex[:20]}"
        model = body.get("model", "claude-fake")
        # (the cache counts as the real API sends them: claude-agent-acp adds them up, and a
        # missing one makes its usage_update's `used` null, which the ACP SDK rejects)
        usage = {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0,
                 "cache_read_input_tokens": 0}
        if isinstance(step, str):
            content: list[dict[str, Any]] = [{"type": "text", "text": step}]
            stop = "end_turn"
        else:
            name, args = step
            tool = "Bash" if name == "bash" else "Write"
            if name == "bash":
                args = {**args, "description": "Run the scripted command"}
            else:
                args = {**args, "file_path": self._file_path(args["file_path"])}
            content = [{"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:20]}",
                        "name": tool, "input": args}]
            stop = "tool_use"
        whole = {"id": msg_id, "type": "message", "role": "assistant", "model": model,
                 "content": content, "stop_reason": stop, "stop_sequence": None, "usage": usage}

        def events() -> Iterator[tuple[str | None, Any]]:
            yield "message_start", {"type": "message_start", "message": {
                **whole, "content": [], "stop_reason": None}}
            for i, block in enumerate(content):
                if block["type"] == "text":
                    yield "content_block_start", {"type": "content_block_start", "index": i,
                                                  "content_block": {"type": "text", "text": ""}}
                    yield "content_block_delta", {"type": "content_block_delta", "index": i,
                                                  "delta": {"type": "text_delta",
                                                            "text": block["text"]}}
                else:
                    start = {**block, "input": {}}
                    yield "content_block_start", {"type": "content_block_start", "index": i,
                                                  "content_block": start}
                    yield "content_block_delta", {"type": "content_block_delta", "index": i,
                                                  "delta": {"type": "input_json_delta",
                                                            "partial_json":
                                                                json.dumps(block["input"])}}
                yield "content_block_stop", {"type": "content_block_stop", "index": i}
            yield "message_delta", {"type": "message_delta",
                                    "delta": {"stop_reason": stop, "stop_sequence": None},
                                    "usage": {"output_tokens": 5}}
            yield "message_stop", {"type": "message_stop"}

        return whole, events()

    # -- OpenAI Responses (Codex) -----------------------------------------------------------
    def _responses(self, body: dict[str, Any]) -> tuple[Any, Iterator[tuple[str | None, Any]]]:
        items = body.get("input") or []
        if isinstance(items, str):
            items = []
        results = sum(1 for item in items if isinstance(item, dict)
                      and item.get("type") in ("function_call_output", "custom_tool_call_output"))
        step = self.script.step(results)
        resp_id = f"resp_{uuid.uuid4().hex[:20]}"
        output: list[dict[str, Any]]
        if isinstance(step, str):
            output = [{"type": "message", "id": f"msg_{uuid.uuid4().hex[:12]}", "role": "assistant",
                       "status": "completed",
                       "content": [{"type": "output_text", "text": step, "annotations": []}]}]
        else:
            name, args = step
            if name == "bash":
                command = args["command"]
            elif self.script.codex_patch:
                added = "".join(f"+{line}\n" for line in args["content"].splitlines())
                command = (f"apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: "
                           f"{args['file_path']}\n{added}*** End Patch\nEOF\n")
            else:
                path = self._file_path(args["file_path"])
                content = args["content"].rstrip("\n")
                command = f"printf '%s\\n' '{content}' > '{path}'"
            arguments = {"cmd": command, "sandbox_permissions": "require_escalated",
                         "justification": f"Run the scripted step: {name}"}
            output = [{"type": "function_call", "id": f"fc_{uuid.uuid4().hex[:12]}",
                       "call_id": f"call_{uuid.uuid4().hex[:12]}", "name": "exec_command",
                       "arguments": json.dumps(arguments), "status": "completed"}]
        usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                 "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens_details": {"reasoning_tokens": 0}}
        whole = {"id": resp_id, "object": "response", "status": "completed",
                 "model": body.get("model", "fake"), "output": output, "usage": usage}

        def events() -> Iterator[tuple[str | None, Any]]:
            yield "response.created", {"type": "response.created",
                                       "response": {**whole, "status": "in_progress",
                                                    "output": []}}
            for i, item in enumerate(output):
                yield "response.output_item.added", {"type": "response.output_item.added",
                                                     "output_index": i, "item": item}
                if item["type"] == "message":
                    yield "response.output_text.delta", {
                        "type": "response.output_text.delta", "output_index": i,
                        "item_id": item["id"], "content_index": 0,
                        "delta": item["content"][0]["text"]}
                yield "response.output_item.done", {"type": "response.output_item.done",
                                                    "output_index": i, "item": item}
            yield "response.completed", {"type": "response.completed", "response": whole}

        return whole, events()

    # -- Gemini API (Gemini CLI) ------------------------------------------------------------
    def _gemini(self, body: dict[str, Any]) -> tuple[Any, Iterator[tuple[str | None, Any]]]:
        contents = body.get("contents") or []
        results = sum(1 for c in contents for part in c.get("parts") or []
                      if isinstance(part, dict) and "functionResponse" in part)
        has_tools = bool(body.get("tools"))
        # a request without tools is a side question (a router, a title): a short JSON answer
        step = (self.script.step(results) if has_tools
                else '{"reasoning": "scripted", "model_choice": "flash"}')
        if isinstance(step, str):
            parts: list[dict[str, Any]] = [{"text": step}]
        else:
            name, args = step
            if name == "bash":
                call = {"name": "run_shell_command",
                        "args": {"command": args["command"], "description": "Run the command"}}
            else:
                call = {"name": "write_file", "args": {
                    "file_path": self._file_path(args["file_path"]), "content": args["content"]}}
            parts = [{"functionCall": call}]
        whole = {"candidates": [{"content": {"role": "model", "parts": parts},
                                 "finishReason": "STOP", "index": 0}],
                 "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                                   "totalTokenCount": 15},
                 "modelVersion": "fake"}

        def events() -> Iterator[tuple[str | None, Any]]:
            yield None, whole

        return whole, events()

    # -- OpenAI chat completions (Aider) ----------------------------------------------------
    def _chat(self, body: dict[str, Any]) -> tuple[Any, Iterator[tuple[str | None, Any]]]:
        model = body.get("model", "fake")
        if body.get("tools"):  # opencode, Kilo, Qwen Code, Copilot CLI: tool calls
            step = self.script.step(tool_results(body))
            call = None if isinstance(step, str) else tool_call(step, body, self._file_path)
            return chat_reply(call or (step if isinstance(step, str) else "Done."), model)
        # Aider has no tool calls: its edits and commands come as text it then confirms.
        # Aider's prompt carries example exchanges of its own: whether our edit was sent
        # already is told by finding it among the assistant turns
        edit = (f"I will create the file and run the command.\n\n{self.script.file_path}\n"
                f"```\n<<<<<<< SEARCH\n=======\n{self.script.file_content}>>>>>>> REPLACE\n"
                f"```\n\n```bash\n{self.script.command}\n```\n")
        sent = any(m.get("role") == "assistant" and self.script.command in str(m.get("content"))
                   for m in body.get("messages", []))
        text = self.script.final_text if sent else edit
        chat_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        whole = {"id": chat_id, "object": "chat.completion", "model": model, "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text},
             "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}

        def events() -> Iterator[tuple[str | None, Any]]:
            base = {"id": chat_id, "object": "chat.completion.chunk", "model": model}
            yield None, {**base, "choices": [{"index": 0, "delta": {"role": "assistant",
                                                                     "content": ""}}]}
            for line in text.splitlines(keepends=True):
                yield None, {**base, "choices": [{"index": 0, "delta": {"content": line}}]}
            yield None, {**base, "choices": [{"index": 0, "delta": {},
                                              "finish_reason": "stop"}]}
            yield None, "[DONE]"

        return whole, events()


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--command", default=Script.command)
    parser.add_argument("--file", default=Script.file_path)
    parser.add_argument("--log")
    args = parser.parse_args()
    server = FakeModelServer(Script(command=args.command, file_path=args.file),
                             cwd=Path.cwd(), port=args.port,
                             log_path=Path(args.log) if args.log else None)
    print(f"listening on {server.url}", flush=True)
    server.start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
