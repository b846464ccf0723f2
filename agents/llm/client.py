"""Chat completions over the OpenAI protocol, with retries that tycoon owns.

The request travels by the official `openai` client or by aiohttp (`LlmSettings.transport`,
see `transport.py`); either way the body, retries and parsing are these. The transports
do not retry: tycoon retries 429 (honouring Retry-After), 5xx, timeouts and connection
errors with exponential backoff and jitter, counts the attempts, and raises `LlmUnavailable` when they run out, so the runner can
stop the episode in a resumable state. Other 4xx answers raise `LlmRequestRejected` at
once: retrying a request the server refuses cannot help.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tycoon.agents.llm.settings import LlmSettings
from tycoon.agents.llm.transport import (
    HttpReply,
    TransportConnectionError,
    TransportTimeout,
    make_transport,
)

MAX_RETRY_AFTER = 600.0
REDACTED = "[redacted]"
# what a client sends when there is no key: nothing to hide
_NOT_SECRET = frozenset({"", "EMPTY", "not-needed"})


def redact(text: str, *secrets: str | None) -> str:
    """`text` with every secret (an API key) replaced: a server's error message may echo
    the key it was sent, and errors are printed and stored."""
    for secret in sorted({s for s in secrets if s and s not in _NOT_SECRET}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


class LlmError(RuntimeError):
    """The model could not be asked; the episode stops and stays resumable."""


class LlmUnavailable(LlmError):
    """Retries ran out (rate limits, server errors, timeouts or no connection)."""


class LlmRequestRejected(LlmError):
    """The server refused the request itself (4xx other than 408/409/429)."""


@dataclass
class ChatResult:
    """One completion, reduced to what tycoon keeps."""

    message: dict[str, Any]  # role, content, tool_calls (OpenAI shape), reasoning if any
    finish_reason: str | None
    response_id: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float  # the successful attempt
    attempts: int
    prompt_token_ids: list[int] | None = None
    completion_token_ids: list[int] | None = None
    logprobs: list[dict[str, Any]] | None = None


class ChatClient:
    """One transport (one connection pool) shared by every episode in a process.

    `settings.transport` picks how requests travel (see `transport.py`); the body, the
    retries and the parsing here are the same for both. `max_in_flight` bounds concurrent
    requests with a semaphore (None: unbounded).
    """

    def __init__(
        self,
        settings: LlmSettings,
        *,
        max_in_flight: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._api_key = settings.api_key()
        self._transport = make_transport(settings, self._api_key)
        self._semaphore = asyncio.Semaphore(max_in_flight) if max_in_flight else None
        # jitter only: never the episode's generators, so retries cannot change a run
        self._rng = rng or random.Random()
        self.params = settings.request_params()
        extra: dict[str, Any] = {}
        if settings.return_token_ids:
            extra["return_token_ids"] = True
        self._extra_body = extra

    async def close(self) -> None:
        await self._transport.close()

    def request_body(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], seed: int | None
    ) -> dict[str, Any]:
        """The JSON body of one call, as sent by either transport."""
        body: dict[str, Any] = dict(self.params, messages=messages)
        if tools:  # servers refuse an empty list
            body["tools"] = tools
        if seed is not None:
            body["seed"] = seed
        if self.settings.logprobs:
            body["logprobs"] = True
        body.update(self._extra_body)
        return body

    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        seed: int | None = None,
    ) -> ChatResult:
        body = self.request_body(messages, tools, seed)
        attempts, last_error = 0, ""
        while True:
            attempts += 1
            started = time.perf_counter()
            delay: float | None = None
            try:
                if self._semaphore is None:
                    reply = await self._transport.post(body)
                else:
                    async with self._semaphore:
                        reply = await self._transport.post(body)
                latency_ms = (time.perf_counter() - started) * 1000
                status = reply.status
                if 200 <= status < 300:
                    payload = _json_object(reply.content)
                    if payload is not None:
                        return _result(payload, latency_ms, attempts)
                    last_error = "the reply is not a JSON object"
                elif status not in (408, 409, 429) and status < 500:
                    raise LlmRequestRejected(
                        redact(
                            f"{self.settings.model} refused the request: "
                            f"HTTP {status} {_error_message(reply)}",
                            self._api_key,
                        )
                    ) from None
                else:
                    last_error = f"HTTP {status} {_error_message(reply)}"
                    delay = _retry_after(reply.headers) if status == 429 else None
            except TransportTimeout:
                last_error = f"no reply within {self.settings.timeout:g}s"
            except TransportConnectionError as exc:
                last_error = f"connection failed ({exc})"
            if attempts > self.settings.max_retries:
                raise LlmUnavailable(
                    redact(
                        f"{self.settings.model} at {self.settings.base_url or 'api.openai.com'}: "
                        f"{attempts} attempt(s) failed; last: {last_error}",
                        self._api_key,
                    )
                )
            if delay is None:
                delay = self.backoff(attempts)
            await asyncio.sleep(delay)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: base * 2^(attempt-1), capped, times U(0.5, 1)."""
        ceiling = min(self.settings.backoff_max, self.settings.backoff_base * 2 ** (attempt - 1))
        return ceiling * (0.5 + 0.5 * self._rng.random())


def _error_message(reply: HttpReply) -> str:
    """The error's own message (OpenAI's `{"error": {"message": ...}}`), else what the
    server said (`Error code: N - <JSON>`, or its text). Worded here from the bytes, so
    both transports say the same whatever the openai client's version (its own wording
    changed between versions and, in 3.x, drops a body without a message)."""
    text = reply.content.decode("utf-8", "replace").strip()
    try:
        body = json.loads(text)
    except ValueError:
        return (text or f"Error code: {reply.status}")[:300]
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
    return f"Error code: {reply.status} - {body}"[:300]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    if value := headers.get("retry-after-ms"):
        try:
            return min(MAX_RETRY_AFTER, max(0.0, float(value) / 1000))
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return min(MAX_RETRY_AFTER, max(0.0, when.timestamp() - time.time()))


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(content)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _result(payload: dict[str, Any], latency_ms: float, attempts: int) -> ChatResult:
    """A chat completion (the JSON body, OpenAI or vLLM shape) reduced to a `ChatResult`."""
    choices = payload.get("choices")
    if not choices or not isinstance(choices[0], dict):
        raise LlmUnavailable("the server answered with no choices")
    choice = choices[0]
    message = choice.get("message") or {}
    tool_calls = []
    for call in message.get("tool_calls") or []:
        if not isinstance(call, dict):
            continue
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        tool_calls.append(
            {
                "id": call.get("id"),
                "type": "function",
                "function": {"name": function.get("name"), "arguments": function.get("arguments")},
            }
        )
    reply: dict[str, Any] = {"role": "assistant", "content": message.get("content")}
    if tool_calls:
        reply["tool_calls"] = tool_calls
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if reasoning:
        reply["reasoning"] = reasoning
    usage = payload.get("usage") or {}
    logprobs = None
    content = (choice.get("logprobs") or {}).get("content")
    if isinstance(content, list):
        logprobs = [
            {"token": item.get("token"), "logprob": item.get("logprob")}
            for item in content
            if isinstance(item, dict)
        ]
    return ChatResult(
        message=reply,
        finish_reason=choice.get("finish_reason"),
        response_id=str(payload.get("id") or ""),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        latency_ms=latency_ms,
        attempts=attempts,
        prompt_token_ids=payload.get("prompt_token_ids"),
        completion_token_ids=choice.get("token_ids"),
        logprobs=logprobs,
    )
