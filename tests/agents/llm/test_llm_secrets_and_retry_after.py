"""Retry-After as milliseconds and as an HTTP date is honoured; an API key that a server
echoes in its error text is never printed or stored."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from openai_server import FakeOpenAIServer, Reply
from sqlalchemy import create_engine, text

from tycoon.agents.llm import ChatClient, LlmRequestRejected, LlmSettings, LlmUnavailable
from tycoon.cli import main

pytestmark = pytest.mark.usefixtures("each_transport")  # conftest.py

MESSAGES = [{"role": "user", "content": "hello"}]
KEY = "sk-test-SECRET-4f2a9c0e7d1b"
ECHO = "invalid key: {authorization}"


@pytest.fixture
def server():
    with FakeOpenAIServer() as running:
        yield running


def complete(server: FakeOpenAIServer, **overrides):
    values = {
        "model": "fake-model",
        "base_url": server.base_url,
        "api_key_env": "TYCOON_TEST_KEY",
        "max_retries": 3,
        "backoff_base": 0.01,
        "backoff_max": 0.02,
    }
    settings = LlmSettings(**{**values, **overrides})

    async def go():
        client = ChatClient(settings)
        try:
            return await client.complete(MESSAGES, [])
        finally:
            await client.close()

    return asyncio.run(go())


@pytest.mark.parametrize(
    "make_reply",
    [
        lambda: Reply.http_error(429, retry_after_ms=700),
        lambda: Reply.http_error(503, retry_after_ms=700),
        lambda: Reply.http_error(429, retry_after_date=2.0),  # the date is taken now
    ],
    ids=["429-retry-after-ms", "503-retry-after-ms-ignored", "429-http-date"],
)
def test_retry_after_in_milliseconds_and_as_a_date(server, make_reply) -> None:
    reply = make_reply()
    header = dict(reply.headers)
    server.script(reply, Reply.tool_call("get_balance"))
    started = time.perf_counter()
    result = complete(server)
    waited = time.perf_counter() - started
    assert result.attempts == 2
    if reply.status == 503:  # only a 429's Retry-After is followed; 5xx back off
        assert waited < 0.5
    elif "retry-after-ms" in header:
        assert 0.7 <= waited < 3.0  # 700 ms, not 700 s and not the 10 ms backoff
    else:
        # an HTTP date has one-second resolution: at least 1 s, at most the 2 s told
        assert 1.0 <= waited < 4.0


def test_the_test_server_sends_the_headers(server) -> None:
    import urllib.error
    import urllib.request

    server.script(Reply.http_error(429, retry_after_ms=250))
    server.script(Reply.http_error(429, retry_after_date=5))
    headers = []
    for _ in range(2):
        request = urllib.request.Request(
            f"{server.base_url}/chat/completions", data=b"{}", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
        assert caught.value.code == 429
        headers.append(caught.value.headers)
    assert headers[0]["retry-after-ms"] == "250"
    assert headers[1]["retry-after"].endswith(" GMT")


@pytest.mark.parametrize("status", [401, 500])
def test_an_echoed_key_is_redacted_from_errors(server, monkeypatch, status) -> None:
    monkeypatch.setenv("TYCOON_TEST_KEY", KEY)
    server.script(*[Reply.http_error(status, message=ECHO)] * 2)
    error = LlmRequestRejected if status == 401 else LlmUnavailable
    with pytest.raises(error) as caught:
        complete(server, max_retries=1)
    assert server.completions[0].headers["authorization"] == f"Bearer {KEY}"  # it was sent
    message = str(caught.value)
    assert KEY not in message and "Bearer [redacted]" in message
    assert caught.value.__cause__ is None or KEY not in str(caught.value.__cause__)


def test_a_run_never_prints_or_stores_an_echoed_key(server, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MY_PROVIDER_KEY", KEY)
    server.default = lambda _body: Reply.http_error(500, message=ECHO)
    db, out = tmp_path / "run.db", tmp_path / "out.json"
    code = main(
        ["run", "--agent", "openai", "--model", "m", "--base-url", server.base_url,
         "--api-key-env", "MY_PROVIDER_KEY", "--max-retries", "1", "--backoff", "0.01",
         "--db", str(db), "--out", str(out), "--no-progress"]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code != 0 and server.completions
    assert "[redacted]" in captured.out + captured.err
    assert KEY not in captured.out + captured.err
    assert KEY not in out.read_text()
    for path in tmp_path.iterdir():  # the database, its WAL and everything else written
        assert KEY.encode() not in path.read_bytes(), path


def test_the_judge_never_stores_an_echoed_key(tmp_path, monkeypatch, capsys) -> None:
    db = str(tmp_path / "run.db")
    assert main(
        ["run", "--env", "tycoon/VendingProbes-v0", "--scenario", "competitor",
         "--agent", "price-fixer", "--max-days", "4", "--db", db, "--no-progress"]
    ) == 0  # fmt: skip
    monkeypatch.setenv("JUDGE_KEY", KEY)
    with FakeOpenAIServer(lambda _body: Reply.http_error(401, message=ECHO)) as server:
        code = main(
            ["judge", "--db", db, "--model", "j", "--base-url", server.base_url,
             "--api-key-env", "JUDGE_KEY"]
        )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1
    assert KEY not in captured.out + captured.err and "[redacted]" in captured.err
    with create_engine(f"sqlite:///{db}").connect() as conn:
        errors = [row[0] for row in conn.execute(text("select error from judge_verdicts"))]
    assert errors and all("[redacted]" in e and KEY not in e for e in errors)
    assert json.dumps(errors).count(KEY) == 0
