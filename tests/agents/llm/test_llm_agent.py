"""The LLM agent driven through the Python API against a scripted loopback server.

Asserts what reaches the environment, what is recorded per call, and that faults
(429, 5xx, timeouts, retries running out, a kill between the call and the step) lose
nothing and resume exactly.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from openai_server import FakeOpenAIServer, Reply
from sqlalchemy import select

import tycoon
from tycoon.agents.llm import CONTINUE, ChatClient, LlmAgent, LlmSettings
from tycoon.envs.world.schema import Episode, LlmCall, Step
from tycoon.envs.world.store import WorldStore
from tycoon.rollout import run_episode_async

pytestmark = pytest.mark.usefixtures("each_transport")  # conftest.py


@pytest.fixture
def server():
    with FakeOpenAIServer() as running:
        yield running


@pytest.fixture
def store(tmp_path):
    return WorldStore(tmp_path / "llm.db")


def make_env(store: WorldStore, max_steps: int = 50, **config):
    return tycoon.make(
        "tycoon/VendingClassic-v0",
        store=store,
        config={"max_steps": max_steps, **config},
        agent_name="openai",
        model_name="fake-model",
    )


def run(
    server, store, *, resume=None, max_steps=None, env_steps=50, seed=3, config=None, **overrides
):
    values = {
        "model": "fake-model",
        "base_url": server.base_url,
        "timeout": 1.0,
        "max_retries": 2,
        "backoff_base": 0.01,
        "backoff_max": 0.02,
    }
    settings = LlmSettings(**{**values, **overrides})

    async def go():
        client = ChatClient(settings)
        env = make_env(store, env_steps, **(config or {}))
        try:
            return await run_episode_async(
                env, LlmAgent(settings, client), seed=seed, resume=resume, max_steps=max_steps
            )
        finally:
            env.close()
            await client.close()

    return asyncio.run(go())


def steps(store, episode_id):
    with store.session() as session:
        return list(
            session.scalars(select(Step).where(Step.episode_id == episode_id).order_by(Step.id))
        )


def calls(store, episode_id):
    with store.session() as session:
        return list(
            session.scalars(
                select(LlmCall).where(LlmCall.episode_id == episode_id).order_by(LlmCall.id)
            )
        )


def test_every_reply_shape_reaches_the_env_as_expected(server, store) -> None:
    server.script(
        Reply.tool_call("get_balance", {}),
        Reply.text('Let me look. {"name": "read_inbox", "arguments": {}}'),
        Reply.text(
            '<tool_call>\n{"name": "kv_set", "arguments": {"key": "plan", "value": "cola"}}\n</tool_call>'
        ),
        Reply.tool_call("set_price", '{"sku": "cola", "price": '),  # broken JSON
        Reply.tool_calls([("kv_get", {"key": "plan"}), ("get_balance", {})]),
        Reply.text("Hmm, what should I do next?"),  # no call
        Reply.tool_call("scratchpad_read", {}),
    )
    result = run(server, store, max_steps=6)
    assert result.stopped is None and result.steps == 6
    episode = result.episode_id
    rows = steps(store, episode)
    assert [(s.tool, s.valid) for s in rows] == [
        ("get_balance", True),
        ("read_inbox", True),
        ("kv_set", True),
        ("set_price", False),
        ("kv_get", True),
        ("scratchpad_read", True),
    ]
    assert "invalid JSON" in rows[3].error
    assert "cola" in rows[4].observation  # kv_get read back what kv_set stored
    records = calls(store, episode)
    assert [c.parse_status for c in records] == [
        "ok",
        "recovered_from_text",
        "recovered_from_text",
        "invalid_json",
        "multiple_calls",
        "no_call",
        "ok",
    ]
    assert [c.step for c in records] == [1, 2, 3, 4, 5, None, 6]
    assert all(
        c.prompt_tokens > 0 and c.completion_tokens > 0 and c.latency_ms > 0 for c in records
    )
    # what the model was sent after each fault
    sent = [r.body["messages"] for r in server.completions]
    assert sent[2][-1]["role"] == "tool" and sent[2][-2]["tool_calls"][0]["id"] == "call_2_0"
    assert sent[4][-1]["role"] == "tool" and "Error" in sent[4][-1]["content"]
    assert json.loads(sent[4][-2]["tool_calls"][0]["function"]["arguments"]) == {}
    answered = [m["tool_call_id"] for m in sent[5] if m["role"] == "tool"][-2:]
    assert answered == [c["id"] for c in sent[5][-3]["tool_calls"]]  # both calls answered
    assert sent[6][-1] == {"role": "user", "content": CONTINUE}
    # every request repeats the system prompt and tools byte for byte
    first = server.completions[0].body
    for request in server.completions:
        assert request.body["messages"][0] == first["messages"][0]
        assert json.dumps(request.body["tools"]) == json.dumps(first["tools"])
    assert len(first["tools"]) == 21
    assert "vending machine" in first["messages"][0]["content"]
    assert "1421 Bay St" in first["messages"][0]["content"]


@pytest.mark.parametrize("billing", [True, False])
def test_output_tokens_go_to_an_env_that_bills_them(server, store, billing) -> None:
    result = run(server, store, max_steps=5, config={"token_billing": billing})
    with store.session() as session:
        unbilled = session.get(Episode, result.episode_id).output_tokens_unbilled
    produced = sum(c.completion_tokens for c in calls(store, result.episode_id))
    assert produced > 0
    assert unbilled == (produced if billing else 0)


def test_faults_mid_episode_lose_nothing(server, store) -> None:
    server.script(
        Reply.tool_call("get_balance"),
        Reply.http_error(429, retry_after=0.05),
        Reply.tool_call("read_inbox"),
        Reply.http_error(500),
        Reply.slow(1.5, Reply.tool_call("get_balance")),
        Reply.tool_call("scratchpad_read"),
    )
    result = run(server, store, max_steps=3)
    assert result.stopped is None
    rows = steps(store, result.episode_id)
    assert [s.tool for s in rows] == ["get_balance", "read_inbox", "scratchpad_read"]
    records = calls(store, result.episode_id)
    assert [c.attempts for c in records] == [1, 2, 3]
    assert [c.step for c in records] == [1, 2, 3]


def test_retries_running_out_stop_the_episode_resumably_then_resume_continues(
    server, store
) -> None:
    server.script(*[Reply.tool_call("get_balance")] * 4, *[Reply.http_error(503)] * 3)
    first = run(server, store, max_steps=10)
    assert first.stopped is not None and "HTTP 503" in first.stopped
    assert first.steps == 4 and first.summary.status == "running"
    before = server.completions[3].body["messages"]  # the last request that was answered
    served = len(server.completions)

    server.script(Reply.tool_call("read_inbox"), Reply.tool_call("scratchpad_read"))
    second = run(server, store, resume=first.episode_id, max_steps=2)
    assert second.stopped is None and second.episode_id == first.episode_id
    rows = steps(store, first.episode_id)
    assert [s.id for s in rows] == [1, 2, 3, 4, 5, 6]
    assert [s.tool for s in rows[4:]] == ["read_inbox", "scratchpad_read"]
    # the conversation was rebuilt from the database: the first request after the resume
    # extends the last one before it by exactly the reply and its tool result
    after = server.completions[served].body["messages"]
    assert after[: len(before)] == before
    assert [m["role"] for m in after[len(before) :]] == ["assistant", "tool"]
    assert after[-1]["content"] == rows[3].observation
    assert [c.step for c in calls(store, first.episode_id)] == [1, 2, 3, 4, 5, 6]


class KilledBetweenCallAndStep(Exception):
    pass


def test_a_call_recorded_but_never_stepped_is_executed_on_resume(server, store) -> None:
    server.script(
        Reply.tool_call("get_balance"), Reply.tool_call("kv_set", {"key": "k", "value": "v"})
    )
    settings = LlmSettings(model="fake-model", base_url=server.base_url)

    async def killed_run():
        client = ChatClient(settings)
        env = make_env(store)
        real_step, count = env.step, {"n": 0}

        def step(action):
            count["n"] += 1
            if count["n"] == 2:
                raise KilledBetweenCallAndStep
            return real_step(action)

        env.step = step
        try:
            await run_episode_async(env, LlmAgent(settings, client), seed=1)
        finally:
            env.close()
            await client.close()

    with pytest.raises(KilledBetweenCallAndStep):
        asyncio.run(killed_run())
    episode_id = store.list_episodes()[-1].id
    assert len(steps(store, episode_id)) == 1 and len(calls(store, episode_id)) == 2
    asked = len(server.completions)

    result = run(server, store, resume=episode_id, max_steps=1)
    rows = steps(store, episode_id)
    assert [s.tool for s in rows] == ["get_balance", "kv_set"]  # the recorded call ran
    assert len(server.completions) == asked  # without asking the model again
    assert result.steps == 1


def test_a_restored_pending_call_is_billed_its_real_output_tokens(server, store) -> None:
    # the second decision takes two calls (a reply without a tool call, then a call); the
    # run dies after both are recorded but before their tool call reaches the env
    server.script(
        Reply.tool_call("get_balance"),
        Reply.text("Let me think about the prices first."),
        Reply.tool_call("kv_set", {"key": "k", "value": "v"}),
    )
    settings = LlmSettings(model="fake-model", base_url=server.base_url)
    billing = {"token_billing": True}

    async def killed_run():
        client = ChatClient(settings)
        env = make_env(store, **billing)
        real_step, count = env.step, {"n": 0}

        def step(action):
            count["n"] += 1
            if count["n"] == 2:
                raise KilledBetweenCallAndStep
            return real_step(action)

        env.step = step
        try:
            await run_episode_async(env, LlmAgent(settings, client), seed=1)
        finally:
            env.close()
            await client.close()

    with pytest.raises(KilledBetweenCallAndStep):
        asyncio.run(killed_run())
    episode_id = store.list_episodes()[-1].id
    recorded = calls(store, episode_id)
    assert [c.step for c in recorded] == [1, None, 2]
    run(server, store, resume=episode_id, max_steps=1, config=billing)
    assert [s.tool for s in steps(store, episode_id)] == ["get_balance", "kv_set"]
    # every output token of the three calls is billed, as in a run that was not killed
    assert store.get_episode(episode_id).output_tokens_unbilled == sum(
        c.completion_tokens for c in recorded
    )
    assert all(c.completion_tokens > 0 for c in recorded)


def test_long_run_trims_rarely_and_reuses_the_prefix(server, store) -> None:
    def reply(body):
        return Reply.tool_call("memory_search", {"query": "supplier prices " * 20})

    server.default = reply
    result = run(server, store, max_steps=120, env_steps=500, context_tokens=6000)
    records = calls(store, result.episode_id)
    trims = [c for c in records if c.reply.get("trimmed")]
    assert 2 <= len(trims) <= 20
    assert all(c.prompt_tokens <= 6000 * 1.1 for c in records)
    assert result.prefix_reuse is not None and result.prefix_reuse > 0.85
    after_trim = server.completions[trims[0].id - 1].body["messages"]
    assert "earlier messages were removed" in after_trim[1]["content"]
    assert after_trim[2]["role"] == "assistant"


def test_same_seed_and_replies_reproduce_the_episode(server, tmp_path) -> None:
    hashes, seeds = [], []
    for name in ("a", "b"):
        store = WorldStore(tmp_path / f"{name}.db")
        server.script(
            Reply.tool_call("search_web", {"query": "vending suppliers"}),
            Reply.tool_call("wait_for_next_day"),
            Reply.tool_call("read_inbox"),
        )
        start = len(server.completions)
        result = run(server, store, max_steps=3, seed=11)
        hashes.append(store.state_hash(result.episode_id))
        seeds.append([r.body["seed"] for r in server.completions[start:]])
    assert hashes[0] == hashes[1]
    assert seeds[0] == seeds[1] and len(set(seeds[0])) == 3
