"""ChatClient against a real loopback server: shapes, token ids, retries and faults."""

from __future__ import annotations

import asyncio
import time

import pytest
from openai_server import FakeOpenAIServer, Reply

from tycoon.agents.llm import ChatClient, LlmRequestRejected, LlmSettings, LlmUnavailable

pytestmark = pytest.mark.usefixtures("each_transport")  # conftest.py

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "hello"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_balance",
            "description": "d",
            "parameters": {"type": "object", "properties": {}},
        },
    }
]


@pytest.fixture
def server():
    with FakeOpenAIServer() as running:
        yield running


def settings(server: FakeOpenAIServer, **overrides) -> LlmSettings:
    values = {
        "model": "fake-model",
        "base_url": server.base_url,
        "api_key_env": "TYCOON_NO_KEY",
        "timeout": 2.0,
        "max_retries": 3,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
    }
    return LlmSettings(**{**values, **overrides})


def complete(server: FakeOpenAIServer, **overrides):
    async def go():
        client = ChatClient(settings(server, **overrides))
        try:
            return await client.complete(MESSAGES, TOOLS, seed=5)
        finally:
            await client.close()

    return asyncio.run(go())


def test_a_tool_call_comes_back_in_openai_shape(server) -> None:
    server.script(Reply.tool_call("get_balance", {}))
    result = complete(server)
    call = result.message["tool_calls"][0]
    assert call["id"].startswith("chatcmpl-tool-")
    assert call["function"] == {"name": "get_balance", "arguments": "{}"}
    assert result.finish_reason == "tool_calls"
    assert result.prompt_tokens > 0 and result.completion_tokens > 0
    assert result.attempts == 1
    assert result.prompt_token_ids is None and result.logprobs is None
    sent = server.completions[-1].body
    assert sent["messages"] == MESSAGES and sent["tools"] == TOOLS
    assert sent["model"] == "fake-model" and sent["seed"] == 5
    assert "return_token_ids" not in sent  # OpenAI proper would refuse an unknown field


def test_token_ids_and_logprobs_when_asked(server) -> None:
    server.script(Reply.tool_call("get_balance", {}))
    result = complete(server, return_token_ids=True, logprobs=True)
    sent = server.completions[-1].body
    assert sent["return_token_ids"] is True and sent["logprobs"] is True
    assert len(result.prompt_token_ids) == result.prompt_tokens
    assert len(result.completion_token_ids) == result.completion_tokens
    assert len(result.logprobs) == result.completion_tokens
    assert all(item["logprob"] <= 0 for item in result.logprobs)


def test_429_honours_retry_after_then_succeeds(server) -> None:
    server.script(Reply.http_error(429, retry_after=0.6), Reply.tool_call("get_balance"))
    started = time.perf_counter()
    result = complete(server)
    assert time.perf_counter() - started >= 0.6  # waited as told, not the 10 ms backoff
    assert result.attempts == 2
    assert len(server.completions) == 2


def test_500_and_timeouts_are_retried(server) -> None:
    server.script(
        Reply.http_error(500), Reply.http_error(503), Reply.slow(1.5), Reply.tool_call("read_inbox")
    )
    result = complete(server, timeout=0.5)
    assert result.attempts == 4
    assert result.message["tool_calls"][0]["function"]["name"] == "read_inbox"


def test_retries_run_out_with_a_clear_error(server) -> None:
    server.script(*[Reply.http_error(500, message="engine dead")] * 3)
    with pytest.raises(LlmUnavailable, match=r"3 attempt\(s\) failed; last: HTTP 500 engine dead"):
        complete(server, max_retries=2)
    assert len(server.completions) == 3


def test_a_refused_request_is_not_retried(server) -> None:
    server.script(Reply.http_error(400, message="maximum context length is 4096 tokens"))
    with pytest.raises(LlmRequestRejected, match="HTTP 400 maximum context length"):
        complete(server)
    assert len(server.completions) == 1


def test_connection_refused_is_retried_then_reported() -> None:
    probe = FakeOpenAIServer()
    url = probe.base_url
    probe.stop()  # nothing listens on that port now
    settings_ = LlmSettings(model="m", base_url=url, max_retries=1, backoff_base=0.01)

    async def go():
        client = ChatClient(settings_)
        try:
            await client.complete(MESSAGES, TOOLS)
        finally:
            await client.close()

    with pytest.raises(LlmUnavailable, match="connection failed"):
        asyncio.run(go())


def test_backoff_doubles_with_jitter_and_is_capped(server) -> None:
    client_settings = settings(server, backoff_base=1.0, backoff_max=8.0)

    async def delays():
        client = ChatClient(client_settings)
        try:
            return [[client.backoff(a) for _ in range(50)] for a in (1, 2, 3, 6)]
        finally:
            await client.close()

    one, two, three, six = asyncio.run(delays())
    assert all(0.5 <= d <= 1.0 for d in one) and len(set(one)) > 1
    assert all(1.0 <= d <= 2.0 for d in two)
    assert all(2.0 <= d <= 4.0 for d in three)
    assert all(4.0 <= d <= 8.0 for d in six)


def test_the_key_comes_from_the_named_variable(server, monkeypatch) -> None:
    monkeypatch.setenv("TYCOON_TEST_KEY", "sk-test-canary-7f3a")
    server.script(Reply.tool_call("get_balance"))
    complete(server, api_key_env="TYCOON_TEST_KEY")
    assert server.completions[-1].headers["authorization"] == "Bearer sk-test-canary-7f3a"


def test_no_key_and_no_base_url_is_an_error(monkeypatch) -> None:
    monkeypatch.delenv("TYCOON_MISSING_KEY", raising=False)
    with pytest.raises(KeyError, match=r"TYCOON_MISSING_KEY"):
        LlmSettings(model="gpt", api_key_env="TYCOON_MISSING_KEY").api_key()
