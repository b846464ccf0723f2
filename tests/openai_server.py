"""A real OpenAI-compatible HTTP server on loopback, scripted per test.

It speaks POST /v1/chat/completions, GET /v1/models and GET /health with vLLM's
response shapes: tool call ids `chatcmpl-tool-<hex>`, `finish_reason` "tool_calls",
arguments as a JSON string, `usage`, and, when the request asks for them,
`prompt_token_ids` / choice `token_ids` (`return_token_ids`) and `logprobs`. A request
with `"stream": true` is answered as server-sent events (`chat.completion.chunk`s, the
usage chunk when `stream_options.include_usage` asks for it, then `data: [DONE]`).

Tests queue replies (`server.script(Reply.tool_call(...), Reply.error(429), ...)`);
once the queue is empty the `default` reply factory answers. Every request is recorded
(`server.requests`) so tests can assert on what the client sent.

    with FakeOpenAIServer() as server:
        server.script(Reply.tool_call("get_balance"))
        client = AsyncOpenAI(base_url=server.base_url, api_key="x")

Run standalone (the benchmark does, so the server's CPU is not the client's):
    python tests/openai_server.py --port 8011 --delay 0.2
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import json
import secrets
import socket
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer: a chat completion (`message`), or an HTTP error (`status`)."""

    message: dict[str, Any] | None = None
    finish_reason: str = "stop"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""
    delay: float = 0.0

    # -- constructors -------------------------------------------------------------------

    @classmethod
    def tool_call(
        cls,
        name: str,
        arguments: dict[str, Any] | str | None = None,
        *,
        content: str | None = None,
        delay: float = 0.0,
    ) -> Reply:
        """A proper tool call; `arguments` as a str is sent verbatim (e.g. broken JSON)."""
        return cls.tool_calls([(name, arguments or {})], content=content, delay=delay)

    @classmethod
    def tool_calls(
        cls,
        calls: list[tuple[str, dict[str, Any] | str]],
        *,
        content: str | None = None,
        delay: float = 0.0,
    ) -> Reply:
        tool_calls = [
            {
                "id": f"chatcmpl-tool-{secrets.token_hex(16)}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            for name, args in calls
        ]
        message = {
            "role": "assistant",
            "content": content,
            "tool_calls": tool_calls,
            "reasoning_content": None,
        }
        return cls(message=message, finish_reason="tool_calls", delay=delay)

    @classmethod
    def text(cls, content: str, *, finish_reason: str = "stop", delay: float = 0.0) -> Reply:
        """Plain content: no call, or a call written as text (JSON, `<tool_call>`)."""
        message = {
            "role": "assistant",
            "content": content,
            "tool_calls": [],
            "reasoning_content": None,
        }
        return cls(message=message, finish_reason=finish_reason, delay=delay)

    @classmethod
    def http_error(
        cls,
        status: int,
        *,
        retry_after: float | None = None,
        retry_after_ms: float | None = None,
        retry_after_date: float | None = None,
        message: str = "",
        delay: float = 0.0,
    ) -> Reply:
        """An error answer. Retry-After in seconds (`retry_after`), in milliseconds
        (`retry_after_ms`, the `retry-after-ms` header OpenAI sends) or as an HTTP date
        `retry_after_date` seconds from now. `{authorization}` in `message` is replaced by
        the request's Authorization header (a server that echoes the key)."""
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        if retry_after_ms is not None:
            headers["retry-after-ms"] = f"{retry_after_ms:g}"
        if retry_after_date is not None:
            headers["Retry-After"] = email.utils.formatdate(
                time.time() + retry_after_date, usegmt=True
            )
        return cls(
            status=status, headers=headers, error=message or f"scripted error {status}", delay=delay
        )

    @classmethod
    def slow(cls, seconds: float, reply: Reply | None = None) -> Reply:
        """Answer only after `seconds` (longer than the client's timeout, in fault tests)."""
        reply = reply or cls.tool_call("get_balance")
        reply.delay = seconds
        return reply


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: dict[str, Any] | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default listen backlog of 5 resets bursts of connects


def default_reply(_body: dict[str, Any]) -> Reply:
    return Reply.tool_call("get_balance")


class FakeOpenAIServer:
    """ThreadingHTTPServer on 127.0.0.1 in a daemon thread; a context manager."""

    def __init__(
        self,
        default: Callable[[dict[str, Any]], Reply] = default_reply,
        *,
        model: str = "fake-model",
        port: int = 0,
        record: bool = True,
    ) -> None:
        self.default = default
        self.model = model
        self.record = record
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", port), _make_handler(self))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, daemon=True, name="fake-openai"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for serve_forever to notice
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    # -- scripting ------------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def completions(self) -> list[RecordedRequest]:
        """The chat-completion requests received (every attempt, retries included)."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self.default(body)

    def _remember(self, request: RecordedRequest) -> None:
        if self.record:
            with self._lock:
                self.requests.append(request)

    # -- responses -----------------------------------------------------------------------

    def completion_body(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        assert reply.message is not None
        prompt_text = json.dumps(body.get("messages", [])) + json.dumps(body.get("tools", []))
        completion_text = json.dumps(reply.message.get("tool_calls") or []) + (
            reply.message.get("content") or ""
        )
        prompt_tokens = max(1, len(prompt_text) // 4)
        completion_tokens = max(1, len(completion_text) // 4)
        choice: dict[str, Any] = {
            "index": 0,
            "message": reply.message,
            "logprobs": None,
            "finish_reason": reply.finish_reason,
            "stop_reason": None,
        }
        response: dict[str, Any] = {
            "id": f"chatcmpl-{secrets.token_hex(16)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", self.model),
            "choices": [choice],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
                "prompt_tokens_details": None,
            },
            "prompt_logprobs": None,
            "kv_transfer_params": None,
        }
        completion_ids = _fake_token_ids(completion_text, completion_tokens)
        if body.get("return_token_ids"):
            response["prompt_token_ids"] = _fake_token_ids(prompt_text, prompt_tokens)
            choice["token_ids"] = completion_ids
        if body.get("logprobs"):
            choice["logprobs"] = {
                "content": [
                    {
                        "token": f"<{tid}>",
                        "logprob": -((tid % 97) / 100.0),
                        "bytes": None,
                        "top_logprobs": [],
                    }
                    for tid in completion_ids
                ]
            }
        return response


def stream_chunks(completion: dict[str, Any], *, include_usage: bool) -> list[dict[str, Any]]:
    """A completion as the `chat.completion.chunk`s a streaming server sends: the role,
    the content, each tool call (id and name first, then its arguments), the finish
    reason, and the usage chunk (no choices) if asked for."""
    choice = completion["choices"][0]
    message = choice["message"]
    deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
    if message.get("content"):
        deltas.append({"content": message["content"]})
    for index, call in enumerate(message.get("tool_calls") or []):
        function = call["function"]
        deltas.append(
            {"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                             "function": {"name": function["name"], "arguments": ""}}]}
        )  # fmt: skip
        deltas.append(
            {"tool_calls": [{"index": index, "function": {"arguments": function["arguments"]}}]}
        )
    base = {key: completion[key] for key in ("id", "created", "model")}
    base["object"] = "chat.completion.chunk"

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None,
                         "finish_reason": finish_reason}],
        }  # fmt: skip

    chunks = [chunk(delta) for delta in deltas]
    chunks.append(chunk({}, choice["finish_reason"]))
    if include_usage:
        chunks.append({**base, "choices": [], "usage": completion["usage"]})
    return chunks


def _fake_token_ids(text: str, count: int) -> list[int]:
    # deterministic "tokens": crc32 of 4-character chunks
    return [zlib.crc32(text[i * 4 : i * 4 + 4].encode()) % 151_000 for i in range(count)]


def _lower(headers: Any) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def _make_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body go out in two writes; without this, Nagle's algorithm and
            # the client's delayed ACK add ~40 ms to every reply
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *_args: Any) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            server._remember(RecordedRequest("GET", self.path, _lower(self.headers), None))
            if self.path.rstrip("/") in ("/health", "/v1/health"):
                self._send(200, {"status": "ok"})
            elif self.path.rstrip("/") == "/v1/models":
                self._send(
                    200,
                    {
                        "object": "list",
                        "data": [
                            {
                                "id": server.model,
                                "object": "model",
                                "created": 0,
                                "owned_by": "tycoon",
                                "max_model_len": 32768,
                            }
                        ],
                    },
                )
            else:
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "NotFound"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send(400, {"error": {"message": "body is not JSON", "type": "BadRequest"}})
                return
            server._remember(RecordedRequest("POST", self.path, _lower(self.headers), body))
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "NotFound"}})
                return
            reply = server._next_reply(body)
            if reply.delay:
                time.sleep(reply.delay)
            if reply.status != 200:
                self._send(
                    reply.status,
                    {
                        "error": {
                            "message": reply.error.replace(
                                "{authorization}", self.headers.get("Authorization", "")
                            ),
                            "type": "ScriptedError",
                            "code": reply.status,
                        }
                    },
                    reply.headers,
                )
                return
            completion = server.completion_body(body, reply)
            if body.get("stream"):
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                self._send_events(stream_chunks(completion, include_usage=include_usage))
                return
            self._send(200, completion)

        def _send_events(self, chunks: list[dict[str, Any]]) -> None:
            events = [f"data: {json.dumps(chunk)}\n\n" for chunk in chunks]
            data = ("".join(events) + "data: [DONE]\n\n").encode()
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _send(
            self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout) before the reply was ready

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve scripted OpenAI-compatible replies.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before every reply")
    parser.add_argument("--tool", default="get_balance", help="the tool every reply calls")
    args = parser.parse_args()

    def reply(_body: dict[str, Any]) -> Reply:
        return Reply.tool_call(args.tool, delay=args.delay)

    server = FakeOpenAIServer(reply, port=args.port, record=False)
    print(server.base_url, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server._httpd.serve_forever()


if __name__ == "__main__":
    main()
