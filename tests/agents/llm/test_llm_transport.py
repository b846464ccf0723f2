"""The transport setting picks how requests travel; both send the same body and come
back with the same result from the same reply."""

from __future__ import annotations

import argparse
import asyncio

import pytest
from openai_server import FakeOpenAIServer, Reply
from pydantic import ValidationError

from tycoon.agents.llm import ChatClient, LlmSettings
from tycoon.agents.llm.client import _error_message
from tycoon.agents.llm.settings import add_llm_flags, llm_settings_from_args
from tycoon.agents.llm.transport import (
    HttpReply,
    LeanTransport,
    OpenAITransport,
    proxy_from_environment,
)

MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "héllo"}]
TOOLS = [{"type": "function", "function": {"name": "get_balance", "parameters": {}}}]


def parse(*flags: str) -> LlmSettings:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model")
    parser.add_argument("--base-url")
    add_llm_flags(parser)
    return llm_settings_from_args(parser.parse_args(["--model", "m", *flags]))


def test_lean_is_the_default_and_the_flag_picks_openai() -> None:
    assert LlmSettings(model="m").transport == "lean"
    assert parse().transport == "lean"
    assert parse("--transport", "openai").transport == "openai"
    with pytest.raises(SystemExit):
        parse("--transport", "curl")
    with pytest.raises(ValidationError, match="transport"):
        LlmSettings(model="m", transport="curl")


def test_both_transports_send_the_same_body_and_read_the_same_result() -> None:
    results, bodies = {}, {}
    with FakeOpenAIServer() as server:
        for transport in ("openai", "lean"):
            settings = LlmSettings(
                model="m",
                base_url=server.base_url,
                temperature=0.5,
                return_token_ids=True,
                logprobs=True,
                transport=transport,
            )

            async def go(settings: LlmSettings = settings):
                client = ChatClient(settings)
                kind = type(client._transport)
                try:
                    return kind, await client.complete(MESSAGES, TOOLS, seed=3)
                finally:
                    await client.close()

            server.script(Reply.tool_call("get_balance", {"x": 1}, content="ok"))
            kind, result = asyncio.run(go())
            assert kind is {"lean": LeanTransport, "openai": OpenAITransport}[transport]
            bodies[transport] = server.completions[-1].body
            results[transport] = result
    assert bodies["lean"] == bodies["openai"]
    assert bodies["lean"]["messages"] == MESSAGES and bodies["lean"]["seed"] == 3
    lean, reference = results["lean"], results["openai"]
    assert lean.message["tool_calls"][0]["function"] == {
        "name": "get_balance",
        "arguments": '{"x": 1}',
    }
    for field in ("finish_reason", "prompt_tokens", "completion_tokens", "attempts"):
        assert getattr(lean, field) == getattr(reference, field), field
    assert lean.message["content"] == reference.message["content"] == "ok"
    assert len(lean.completion_token_ids) == lean.completion_tokens
    assert len(lean.logprobs) == lean.completion_tokens


def test_the_lean_transport_takes_the_proxy_from_the_environment(monkeypatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert proxy_from_environment("http://10.1.2.3:8000/v1/chat/completions") is None
    monkeypatch.setenv("http_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("no_proxy", "localhost,.internal")
    assert proxy_from_environment("http://10.1.2.3:8000/v1") == "http://proxy.example:3128"
    assert proxy_from_environment("http://vllm.internal:8000/v1") is None
    assert proxy_from_environment("https://api.openai.com/v1") is None  # no https_proxy


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'{"error": {"message": "context too long"}}', "context too long"),
        (b'{"detail": "no"}', "Error code: 502 - {'detail': 'no'}"),
        (b"upstream crashed\n", "upstream crashed"),
        (b"", "Error code: 502"),
    ],
)
def test_error_texts_carry_what_the_server_said(content, expected) -> None:
    assert _error_message(HttpReply(502, {}, content)) == expected
