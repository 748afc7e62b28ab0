"""The fake model server with the moods a real service has: refusing with 429, streaming a long
reply slowly, answering with a given text.

`MoodyServer` is `FakeModelServer` (same script, same wire formats) whose model calls can be
refused with HTTP 429 (`refuse`: how many, None for all) — Claude Code then retries with
"API error · retrying in Ns · attempt k/10" and gives up with "API Error: Request rejected
(429)", Codex reconnects ("reconnecting k/5") and gives up with "exceeded retry limit" — or held
open while a reply streams (`slow` seconds: the CLI draws its working status row with its timer
and token counter all that time). Side requests (titles, token counts, model lists) are always
answered, so what is on screen is the main call's fate.
"""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.fake_models import FakeModelServer

RATE_LIMITED = {  # each API's own error body for a 429
    "anthropic": {"type": "error", "error": {
        "type": "rate_limit_error",
        "message": "This request would exceed your account's rate limit. Please try again "
                   "later."}},
    "openai": {"error": {"type": "rate_limit_exceeded", "code": "rate_limit_exceeded",
                         "message": "Rate limit reached for fake-model. Please try again in "
                                    "20s."}},
    "gemini": {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
                         "message": "Resource has been exhausted (e.g. check quota)."}},
}
# Codex's request_user_input: three questions, the recommended option first
QUESTIONS: dict[str, Any] = {"questions": [
    {"id": "db", "header": "Database", "question": "Which database should the tests use?",
     "options": [{"label": "Postgres (Recommended)", "description": "Matches production."},
                 {"label": "SQLite", "description": "Faster, but differs from production."}]},
    {"id": "scope", "header": "Scope", "question": "Should I also migrate the old endpoints?",
     "options": [{"label": "Only new ones (Recommended)", "description": "Smaller change."},
                 {"label": "All of them", "description": "One bigger change."}]},
    {"id": "style", "header": "Style", "question": "Keep the current error format?",
     "options": [{"label": "Yes (Recommended)", "description": "No client changes."},
                 {"label": "No", "description": "Clients must adapt."}]}]}
FILLER = ("the scripted model is still writing its answer, slowly and in small pieces, as a "
          "busy model does")
MODEL_CALLS = ("/messages", "/responses", "/chat/completions", ":generateContent",
               ":streamGenerateContent")


@dataclass
class MoodyServer(FakeModelServer):
    refuse: int | None = 0  # model calls answered 429 before the others are served; None: all
    retry_after: int = 1  # the Retry-After header sent with a 429 (seconds)
    slow: float = 0.0  # stream each reply over this many seconds (0: at once)
    thinking: bool = False  # Claude: stream a thinking block first ("thought for Ns")
    text: str | None = None  # answer every model call with this text alone (no tools)
    # Codex: the first reply calls this tool (name, arguments) — its request_user_input
    # draws the questions it asks the user
    codex_call: tuple[str, dict[str, Any]] | None = None
    refused: list[float] = field(default_factory=list)  # when each 429 was sent (monotonic)
    # what a slow reply is streaming now: "thinking", "text", or "" (nothing streams)
    phase: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        super().__post_init__()
        server = self
        base = self._httpd.RequestHandlerClass

        class Handler(base):  # type: ignore[valid-type,misc]
            def do_POST(self) -> None:
                path = self.path.split("?")[0]
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                self.rfile = io.BytesIO(raw)  # (read again by the plain server)
                if path.endswith(MODEL_CALLS) and server._refuse_now(path, raw):
                    server._log(self.path, {"refused": 429, "bytes": len(raw)})
                    api = ("anthropic" if path.endswith("/messages") else
                           "gemini" if "Content" in path else "openai")
                    data = json.dumps(RATE_LIMITED[api]).encode()
                    self.send_response(429, "Too Many Requests")
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Retry-After", str(server.retry_after))
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                super().do_POST()

        self._httpd.RequestHandlerClass = Handler

    def _refuse_now(self, path: str, raw: bytes) -> bool:
        """A main call while refusals are left: for Claude Code one offering tools (its title
        and quota probes offer none)."""
        try:
            tools = bool(json.loads(raw or b"{}").get("tools"))
        except (ValueError, AttributeError):
            tools = False
        if not tools and path.endswith("/messages"):
            return False
        with self._lock:
            if self.refuse is not None and len(self.refused) >= self.refuse:
                return False
            self.refused.append(time.monotonic())
            return True

    # -- slow and given-text replies ----------------------------------------------------------
    def _anthropic(self, body: dict[str, Any]) -> tuple[Any, Iterator[tuple[str | None, Any]]]:
        if not body.get("tools") or not (self.slow or self.text is not None):
            return super()._anthropic(body)
        text = self.text if self.text is not None else _filler(self.slow)
        msg_id = f"msg_{uuid.uuid4().hex[:20]}"
        usage = {"input_tokens": 10, "output_tokens": 5}
        message = {"id": msg_id, "type": "message", "role": "assistant",
                   "model": body.get("model", "claude-fake"), "content": [],
                   "stop_reason": None, "stop_sequence": None, "usage": usage}
        whole = {**message, "content": [{"type": "text", "text": text}],
                 "stop_reason": "end_turn"}
        slow, thinking = self.slow, self.thinking

        def events() -> Iterator[tuple[str | None, Any]]:
            yield "message_start", {"type": "message_start", "message": message}
            index = 0
            if thinking:
                yield "content_block_start", {"type": "content_block_start", "index": 0,
                                              "content_block": {"type": "thinking",
                                                                "thinking": ""}}
                for piece in _phased(self, "thinking", _paced(_filler(slow / 2), slow / 2)):
                    yield "content_block_delta", {"type": "content_block_delta", "index": 0,
                                                  "delta": {"type": "thinking_delta",
                                                            "thinking": piece}}
                yield "content_block_delta", {"type": "content_block_delta", "index": 0,
                                              "delta": {"type": "signature_delta",
                                                        "signature": "fake"}}
                yield "content_block_stop", {"type": "content_block_stop", "index": 0}
                index = 1
            yield "content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": {"type": "text", "text": ""}}
            for piece in _phased(self, "text", _paced(text, slow / 2 if thinking else slow)):
                yield "content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "text_delta", "text": piece}}
            yield "content_block_stop", {"type": "content_block_stop", "index": index}
            yield "message_delta", {"type": "message_delta",
                                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                    "usage": {"output_tokens": 5}}
            yield "message_stop", {"type": "message_stop"}

        return whole, events()

    def _responses(self, body: dict[str, Any]) -> tuple[Any, Iterator[tuple[str | None, Any]]]:
        items = body.get("input") if isinstance(body.get("input"), list) else []
        answered = any(isinstance(i, dict) and i.get("type") == "function_call_output"
                       for i in items)
        if self.codex_call is not None and not answered:
            return self._codex_call(body, *self.codex_call)
        if not (self.slow or self.text is not None):
            return super()._responses(body)
        text = self.text if self.text is not None else _filler(self.slow)
        resp_id = f"resp_{uuid.uuid4().hex[:20]}"
        item = {"type": "message", "id": f"msg_{uuid.uuid4().hex[:12]}", "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}
        usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                 "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens_details": {"reasoning_tokens": 0}}
        whole = {"id": resp_id, "object": "response", "status": "completed",
                 "model": body.get("model", "fake"), "output": [item], "usage": usage}
        slow = self.slow

        thinking = self.thinking

        def events() -> Iterator[tuple[str | None, Any]]:
            yield "response.created", {"type": "response.created", "response": {
                **whole, "status": "in_progress", "output": []}}
            index, pace = 0, slow
            if thinking:  # a reasoning summary first: Codex's status row shows its title
                self.phase = "thinking"
                yield from _reasoning(slow / 2)
                index, pace = 1, slow / 2
            yield "response.output_item.added", {"type": "response.output_item.added",
                                                 "output_index": index,
                                                 "item": {**item, "content": []}}
            for piece in _phased(self, "text", _paced(text, pace)):
                yield "response.output_text.delta", {
                    "type": "response.output_text.delta", "output_index": index,
                    "item_id": item["id"], "content_index": 0, "delta": piece}
            yield "response.output_item.done", {"type": "response.output_item.done",
                                                "output_index": index, "item": item}
            yield "response.completed", {"type": "response.completed", "response": whole}

        return whole, events()

    def _codex_call(self, body: dict[str, Any], name: str,
                    arguments: dict[str, Any]) -> tuple[Any, Iterator[tuple[str | None, Any]]]:
        item = {"type": "function_call", "id": f"fc_{uuid.uuid4().hex[:12]}",
                "call_id": f"call_{uuid.uuid4().hex[:12]}", "name": name,
                "arguments": json.dumps(arguments), "status": "completed"}
        usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15,
                 "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens_details": {"reasoning_tokens": 0}}
        whole = {"id": f"resp_{uuid.uuid4().hex[:20]}", "object": "response",
                 "status": "completed", "model": body.get("model", "fake"), "output": [item],
                 "usage": usage}

        def events() -> Iterator[tuple[str | None, Any]]:
            yield "response.created", {"type": "response.created", "response": {
                **whole, "status": "in_progress", "output": []}}
            yield "response.output_item.added", {"type": "response.output_item.added",
                                                 "output_index": 0, "item": item}
            yield "response.output_item.done", {"type": "response.output_item.done",
                                                "output_index": 0, "item": item}
            yield "response.completed", {"type": "response.completed", "response": whole}

        return whole, events()

    def _chat(self, body: dict[str, Any]) -> tuple[Any, Iterator[tuple[str | None, Any]]]:
        whole, events = super()._chat(body)
        if not body.get("tools") or not (self.slow or self.text is not None):
            return whole, events
        text = self.text if self.text is not None else _filler(self.slow)
        model = body.get("model", "fake")
        chat_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
        slow = self.slow

        def slow_events() -> Iterator[tuple[str | None, Any]]:
            base = {"id": chat_id, "object": "chat.completion.chunk", "model": model}
            yield None, {**base, "choices": [{"index": 0, "delta": {"role": "assistant",
                                                                     "content": ""}}]}
            for piece in _phased(self, "text", _paced(text, slow)):
                yield None, {**base, "choices": [{"index": 0, "delta": {"content": piece}}]}
            yield None, {**base, "choices": [{"index": 0, "delta": {},
                                              "finish_reason": "stop"}],
                         "usage": {"prompt_tokens": 10, "completion_tokens": 5,
                                   "total_tokens": 15}}
            yield None, "[DONE]"

        return whole, slow_events()

    def _gemini(self, body: dict[str, Any]) -> tuple[Any, Iterator[tuple[str | None, Any]]]:
        whole, events = super()._gemini(body)
        if not body.get("tools") or not (self.slow or self.text is not None):
            return whole, events
        text = self.text if self.text is not None else _filler(self.slow)
        slow = self.slow

        def slow_events() -> Iterator[tuple[str | None, Any]]:
            for piece in _phased(self, "text", _paced(text, slow)):
                yield None, {"candidates": [{"content": {"role": "model",
                                                         "parts": [{"text": piece}]},
                                             "index": 0}], "modelVersion": "fake"}
            yield None, {"candidates": [{"content": {"role": "model", "parts": [{"text": ""}]},
                                         "finishReason": "STOP", "index": 0}],
                         "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                                           "totalTokenCount": 15},
                         "modelVersion": "fake"}

        return whole, slow_events()


def _reasoning(seconds: float) -> Iterator[tuple[str | None, Any]]:
    """A Responses reasoning item whose summary streams for `seconds`, titled in bold as
    models title theirs (Codex puts the title in its status row)."""
    item_id = f"rs_{uuid.uuid4().hex[:12]}"
    text = "**Planning the notes**\n\n" + _filler(seconds)
    yield "response.output_item.added", {"type": "response.output_item.added",
                                         "output_index": 0, "item": {
                                             "type": "reasoning", "id": item_id, "summary": []}}
    yield "response.reasoning_summary_part.added", {
        "type": "response.reasoning_summary_part.added", "item_id": item_id, "output_index": 0,
        "summary_index": 0, "part": {"type": "summary_text", "text": ""}}
    for piece in _paced(text, seconds):
        yield "response.reasoning_summary_text.delta", {
            "type": "response.reasoning_summary_text.delta", "item_id": item_id,
            "output_index": 0, "summary_index": 0, "delta": piece}
    yield "response.reasoning_summary_text.done", {
        "type": "response.reasoning_summary_text.done", "item_id": item_id, "output_index": 0,
        "summary_index": 0, "text": text}
    yield "response.output_item.done", {"type": "response.output_item.done", "output_index": 0,
                                        "item": {"type": "reasoning", "id": item_id,
                                                 "summary": [{"type": "summary_text",
                                                              "text": text}]}}


def _filler(seconds: float) -> str:
    """A reply long enough to stream for `seconds`, four words a second."""
    words = FILLER.split(" ")
    return " ".join(words[i % len(words)] for i in range(max(1, int(seconds * 4))))


def _phased(server: MoodyServer, phase: str, pieces: Iterator[str]) -> Iterator[str]:
    """`pieces`, with the server's `phase` saying what streams while they do."""
    server.phase = phase
    try:
        yield from pieces
    finally:
        server.phase = ""


def _paced(text: str, seconds: float) -> Iterator[str]:
    """`text` in word-sized pieces spread over `seconds` (at once when 0): the paced stream a
    slow model gives, so the CLI's working row is on screen all that time."""
    words = text.split(" ")
    if seconds <= 0:
        yield text
        return
    pause = seconds / max(1, len(words))
    for i, word in enumerate(words):
        time.sleep(pause)
        yield word if i == 0 else " " + word
