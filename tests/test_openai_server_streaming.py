"""The loopback OpenAI server streams when asked (verifiers' harness only streams), and
the official client reassembles the same message it gets without streaming."""

from __future__ import annotations

import json

from openai import OpenAI
from openai_server import FakeOpenAIServer, Reply

MESSAGES = [{"role": "user", "content": "go"}]


def test_a_streamed_tool_call_reassembles_into_the_unstreamed_one():
    with FakeOpenAIServer() as server:
        client = OpenAI(base_url=server.base_url, api_key="x")
        server.script(Reply.tool_call("set_price", {"sku": "cola", "price": 1.5}, content="ok"))
        with client.chat.completions.stream(
            model="fake-model", messages=MESSAGES, stream_options={"include_usage": True}
        ) as stream:
            events = list(stream)
            streamed = stream.get_final_completion()
        server.script(Reply.tool_call("set_price", {"sku": "cola", "price": 1.5}, content="ok"))
        plain = client.chat.completions.create(model="fake-model", messages=MESSAGES)
        client.close()
    [call] = streamed.choices[0].message.tool_calls
    [plain_call] = plain.choices[0].message.tool_calls
    assert (
        (call.function.name, json.loads(call.function.arguments))
        == (
            plain_call.function.name,
            json.loads(plain_call.function.arguments),
        )
        == ("set_price", {"sku": "cola", "price": 1.5})
    )
    assert streamed.choices[0].message.content == "ok"
    assert streamed.choices[0].finish_reason == "tool_calls"
    assert streamed.usage is not None and streamed.usage.total_tokens > 0
    assert sum(1 for event in events if event.type == "chunk") >= 4  # really in pieces


def test_a_stream_without_include_usage_has_no_usage_chunk_and_text_arrives():
    with FakeOpenAIServer(default=lambda _body: Reply.text("just words")) as server:
        client = OpenAI(base_url=server.base_url, api_key="x")
        chunks = list(
            client.chat.completions.create(model="fake-model", messages=MESSAGES, stream=True)
        )
        client.close()
        [request] = server.completions
    assert request.body is not None and request.body["stream"] is True
    assert all(chunk.usage is None for chunk in chunks)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == "just words"
    assert chunks[-1].choices[0].finish_reason == "stop"
