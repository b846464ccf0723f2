"""Chat completions through the official `openai` client, with retries that tycoon owns.

The client's own retries are off (`max_retries=0`): tycoon retries 429 (honouring
Retry-After), 5xx, timeouts and connection errors with exponential backoff and jitter,
counts the attempts, and raises `LlmUnavailable` when they run out, so the runner can
stop the episode in a resumable state. Other 4xx answers raise `LlmRequestRejected` at
once: retrying a request the server refuses cannot help.
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib
import json
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tycoon.agents.llm.settings import LlmSettings

if TYPE_CHECKING:
    import openai

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
    """One AsyncOpenAI client (one connection pool) shared by every episode in a process.

    `max_in_flight` bounds concurrent requests with a semaphore (None: unbounded).
    """

    def __init__(
        self,
        settings: LlmSettings,
        *,
        max_in_flight: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self._openai = importlib.import_module("openai")
        self._api_key = settings.api_key()
        self._client = self._openai.AsyncOpenAI(
            base_url=settings.base_url,
            api_key=self._api_key,
            timeout=settings.timeout,
            max_retries=0,
        )
        self._semaphore = asyncio.Semaphore(max_in_flight) if max_in_flight else None
        # jitter only: never the episode's generators, so retries cannot change a run
        self._rng = rng or random.Random()
        self.params = settings.request_params()
        extra: dict[str, Any] = {}
        if settings.return_token_ids:
            extra["return_token_ids"] = True
        self._extra_body = extra or None

    async def close(self) -> None:
        await self._client.close()

    async def complete(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        seed: int | None = None,
    ) -> ChatResult:
        # The messages and tools are plain JSON already. Passed as typed parameters, the
        # client walks them against its TypedDicts on every call: CPU that grows with the
        # prompt (~50 ms per call at 100 turns). In `extra_body` they are sent as they are.
        body: dict[str, Any] = {"messages": messages}
        if tools:  # servers refuse an empty list
            body["tools"] = tools
        if self._extra_body:
            body.update(self._extra_body)
        kwargs: dict[str, Any] = dict(self.params, messages=[], extra_body=body)
        if seed is not None:
            kwargs["seed"] = seed
        if self.settings.logprobs:
            kwargs["logprobs"] = True
        openai = self._openai
        # The raw response is read as JSON: building the client's pydantic models of the
        # completion and then reading them back costs more CPU than the whole step.
        create = self._client.chat.completions.with_raw_response.create
        attempts, last_error = 0, ""
        while True:
            attempts += 1
            started = time.perf_counter()
            try:
                if self._semaphore is None:
                    response = await create(**kwargs)
                else:
                    async with self._semaphore:
                        response = await create(**kwargs)
                latency_ms = (time.perf_counter() - started) * 1000
                payload = _json_object(response.content)
                if payload is not None:
                    return _result(payload, latency_ms, attempts)
                last_error, delay = "the reply is not a JSON object", None
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status not in (408, 409, 429) and status < 500:
                    raise LlmRequestRejected(
                        redact(
                            f"{self.settings.model} refused the request: "
                            f"HTTP {status} {_message(exc)}",
                            self._api_key,
                        )
                    ) from None  # the chained error's text would carry the key
                last_error = f"HTTP {status} {_message(exc)}"
                delay = _retry_after(exc) if status == 429 else None
            except openai.APITimeoutError:
                last_error = f"no reply within {self.settings.timeout:g}s"
                delay = None
            except openai.APIConnectionError as exc:
                last_error = f"connection failed ({exc.__cause__ or exc})"
                delay = None
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


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:300]
    return str(exc.message)[:300]


def _retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
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
        when = email.utils.parsedate_to_datetime(value) if value else None
        if when is None:
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
