"""How a chat-completions request body travels: the official `openai` client or aiohttp.

A transport only sends one JSON body and hands back the HTTP status, headers and raw
bytes, or raises `TransportTimeout` / `TransportConnectionError`. Everything else (the
body, retries, backoff, Retry-After, error texts, redaction, parsing) is `ChatClient`'s,
so both transports behave the same by construction.

- "openai": `AsyncOpenAI.chat.completions.with_raw_response.create`, the reference path.
- "lean": one `aiohttp.ClientSession.post` per call. The SDK's layers (httpx, request
  options, its response wrappers) cost ~5x the client CPU per call of a bare aiohttp post
  (benchmarks/bench_request_path.py), and that CPU is what caps calls/s per core.
"""

from __future__ import annotations

import importlib
import json
import os
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from tycoon.agents.llm.settings import LlmSettings

OPENAI_URL = "https://api.openai.com/v1"
# httpx's default in the SDK (max_connections): the semaphore, not the pool, bounds requests
MAX_CONNECTIONS = 1000


@dataclass
class HttpReply:
    status: int
    headers: Mapping[str, str]  # case-insensitive in both transports
    content: bytes


class TransportTimeout(Exception):
    """No reply within the settings' timeout."""


class TransportConnectionError(Exception):
    """The request could not be sent or its reply could not be read; str() says why."""


class Transport(Protocol):
    async def post(self, body: dict[str, Any]) -> HttpReply: ...

    async def close(self) -> None: ...


def make_transport(settings: LlmSettings, api_key: str) -> Transport:
    if settings.transport == "lean":
        return LeanTransport(settings, api_key)
    return OpenAITransport(settings, api_key)


class OpenAITransport:
    """The official client with its own retries off (`max_retries=0`)."""

    def __init__(self, settings: LlmSettings, api_key: str) -> None:
        self._openai = importlib.import_module("openai")
        self._client = self._openai.AsyncOpenAI(
            base_url=settings.base_url, api_key=api_key, timeout=settings.timeout, max_retries=0
        )
        # The raw response is read as JSON: building the client's pydantic models of the
        # completion and then reading them back costs more CPU than the whole step.
        self._create = self._client.chat.completions.with_raw_response.create

    async def post(self, body: dict[str, Any]) -> HttpReply:
        # The whole body goes in `extra_body`, which the client sends as it is: passed as
        # typed parameters, it walks messages and tools against its TypedDicts on every
        # call (~50 ms per call at 100 turns). `messages=[]` is overridden by the body's.
        openai = self._openai
        try:
            response = await self._create(model=body["model"], messages=[], extra_body=body)
        except openai.APIStatusError as exc:
            reply = exc.response
            return HttpReply(reply.status_code, reply.headers, reply.content)
        except openai.APITimeoutError:  # before its base class, APIConnectionError
            raise TransportTimeout from None
        except openai.APIConnectionError as exc:
            raise TransportConnectionError(str(exc.__cause__ or exc)) from None
        http = response.http_response
        return HttpReply(http.status_code, http.headers, response.content)

    async def close(self) -> None:
        await self._client.close()


class LeanTransport:
    """A bare aiohttp POST to `<base_url>/chat/completions` with the SDK's timeouts,
    connection limit, key, base URL and proxy from the environment."""

    def __init__(self, settings: LlmSettings, api_key: str) -> None:
        self._aiohttp = importlib.import_module("aiohttp")
        base_url = settings.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._proxy = proxy_from_environment(self._url)
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        # the SDK sends these when the variables are set; so must the same request here
        for variable, header in (
            ("OPENAI_ORG_ID", "OpenAI-Organization"),
            ("OPENAI_PROJECT_ID", "OpenAI-Project"),
        ):
            if value := os.environ.get(variable):
                self._headers[header] = value
        # httpx's timeout in the SDK is per phase (connect, each read, pool), not in total
        timeout = settings.timeout
        self._timeout = self._aiohttp.ClientTimeout(
            total=None, connect=timeout, sock_connect=timeout, sock_read=timeout
        )
        self._session: Any = None  # made in the event loop that first sends

    def _session_now(self) -> Any:
        if self._session is None:
            aiohttp = self._aiohttp
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS),
                timeout=self._timeout,
            )
        return self._session

    async def post(self, body: dict[str, Any]) -> HttpReply:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            async with self._session_now().post(
                self._url, data=data, headers=self._headers, proxy=self._proxy
            ) as response:
                return HttpReply(response.status, response.headers, await response.read())
        except TimeoutError:  # aiohttp's timeouts are TimeoutErrors (some ClientErrors too)
            raise TransportTimeout from None
        except self._aiohttp.ClientError as exc:
            raise TransportConnectionError(str(exc) or type(exc).__name__) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def proxy_from_environment(url: str) -> str | None:
    """The proxy that HTTP(S)_PROXY / NO_PROXY name for `url`, as httpx honours them.
    Looked up once: aiohttp's `trust_env` looks it up on every request, which costs about
    a third of the lean transport's CPU per call."""
    parts = urllib.parse.urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy
