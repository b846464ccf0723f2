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
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tycoon.agents.llm.settings import LlmSettings

if TYPE_CHECKING:
    import openai

MAX_RETRY_AFTER = 600.0


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
        self._client = self._openai.AsyncOpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key(),
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
        body: dict[str, Any] = {"messages": messages, "tools": tools}
        if self._extra_body:
            body.update(self._extra_body)
        kwargs: dict[str, Any] = dict(self.params, messages=[], extra_body=body)
        if seed is not None:
            kwargs["seed"] = seed
        if self.settings.logprobs:
            kwargs["logprobs"] = True
        openai = self._openai
        attempts, last_error = 0, ""
        while True:
            attempts += 1
            started = time.perf_counter()
            try:
                if self._semaphore is None:
                    completion = await self._client.chat.completions.create(**kwargs)
                else:
                    async with self._semaphore:
                        completion = await self._client.chat.completions.create(**kwargs)
                return _result(completion, (time.perf_counter() - started) * 1000, attempts)
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status not in (408, 409, 429) and status < 500:
                    raise LlmRequestRejected(
                        f"{self.settings.model} refused the request: HTTP {status} {_message(exc)}"
                    ) from exc
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
                    f"{self.settings.model} at {self.settings.base_url or 'api.openai.com'}: "
                    f"{attempts} attempt(s) failed; last: {last_error}"
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


def _result(completion: Any, latency_ms: float, attempts: int) -> ChatResult:
    if not completion.choices:
        raise LlmUnavailable("the server answered with no choices")
    choice = completion.choices[0]
    message = choice.message
    tool_calls = []
    for call in message.tool_calls or []:
        function = getattr(call, "function", None)
        tool_calls.append(
            {
                "id": call.id,
                "type": "function",
                "function": {
                    "name": getattr(function, "name", None),
                    "arguments": getattr(function, "arguments", None),
                },
            }
        )
    reply: dict[str, Any] = {"role": "assistant", "content": message.content}
    if tool_calls:
        reply["tool_calls"] = tool_calls
    extra = message.model_extra or {}
    reasoning = extra.get("reasoning_content") or extra.get("reasoning")
    if reasoning:
        reply["reasoning"] = reasoning
    usage = completion.usage
    choice_extra = choice.model_extra or {}
    completion_extra = completion.model_extra or {}
    logprobs = None
    if choice.logprobs is not None and choice.logprobs.content is not None:
        logprobs = [
            {"token": item.token, "logprob": item.logprob} for item in choice.logprobs.content
        ]
    return ChatResult(
        message=reply,
        finish_reason=choice.finish_reason,
        response_id=completion.id or "",
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        latency_ms=latency_ms,
        attempts=attempts,
        prompt_token_ids=completion_extra.get("prompt_token_ids"),
        completion_token_ids=choice_extra.get("token_ids"),
        logprobs=logprobs,
    )
