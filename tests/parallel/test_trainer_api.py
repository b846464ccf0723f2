"""The trainer API: groups, token masks, policy endpoints that move, sticky routing and a
cap on requests in flight; against the loopback OpenAI-protocol server, on Ray actors
and in one process."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from openai_server import FakeOpenAIServer, Reply

from tycoon.parallel.endpoints import sticky_url
from tycoon.parallel.ray_runtime import SingleNodeDatabase
from tycoon.rollout import run_rollouts
from tycoon.trainer import Policy, RolloutEngine, RolloutSpec, arun_rollouts
from tycoon.trainer.trajectory import ModelCall, token_spans


def policy_at(*servers: FakeOpenAIServer) -> Policy:
    return Policy(
        model="fake-model",
        base_urls=[server.base_url for server in servers],
        timeout=5,
        backoff_base=0.01,
    )


def collect(spec: RolloutSpec, seeds, **options) -> list:
    async def run() -> list:
        return [t async for t in arun_rollouts(spec, seeds, **options)]

    return asyncio.run(run())


def test_group_rollouts_on_ray_carry_masked_tokens_per_seed(ray_session, tmp_path) -> None:
    spec = RolloutSpec(db=str(tmp_path / "groups.db"), max_steps=4)
    with FakeOpenAIServer() as server, pytest.warns(SingleNodeDatabase, match="SQLite file"):
        trajectories = collect(
            spec, [3, 4], group_size=3, policy=policy_at(server), actors=2, concurrency=3
        )
        requests = len(server.completions)
    assert sorted((t.seed, t.member) for t in trajectories) == [
        (seed, member) for seed in (3, 4) for member in range(3)
    ]
    assert requests == sum(len(t.calls) for t in trajectories) == 6 * 4
    for seed in (3, 4):
        group = [t for t in trajectories if t.seed == seed]
        first_seeds = {t.member: t.calls[0].sampling_seed for t in group}
        assert len(set(first_seeds.values())) == 3  # members sample differently
        assert first_seeds[0] == (seed * 1_000_003 + 1) % 2**31  # member 0 = a lone episode
    for t in trajectories:
        assert t.status == "step_limit" and len(t.steps) == len(t.rewards) == 4
        assert [c.name for c in t.tool_calls] == ["get_balance"] * 4
        assert all(set(s.reward_components) >= {"net_worth_delta"} for s in t.steps)
        generated, prompts = [], []
        for span in t.token_spans:
            assert len(span.token_ids) == len(span.loss_mask) == len(span.logprobs)
            for token, mask, logprob in zip(
                span.token_ids, span.loss_mask, span.logprobs, strict=True
            ):
                assert (logprob is not None) == (mask == 1)
                (generated if mask else prompts).append(token)
        assert generated == [i for c in t.calls for i in c.completion_token_ids]
        assert prompts == [i for c in t.calls for i in c.prompt_token_ids]
        assert [lp for s in t.token_spans for lp in s.logprobs if lp is not None] == [
            lp for c in t.calls for lp in c.logprobs
        ]


def test_spans_continue_while_each_prompt_extends_the_last() -> None:
    def call(n: int, prompt: list[int], completion: list[int]) -> ModelCall:
        return ModelCall(
            call=n, step=n, sampling_seed=None, parse_status="ok", finish_reason="tool_calls",
            message_index=None, prompt_tokens=len(prompt), completion_tokens=len(completion),
            prompt_token_ids=prompt, completion_token_ids=completion,
            logprobs=[-0.5] * len(completion),
        )  # fmt: skip

    spans = token_spans(
        [
            call(1, [1, 2, 3], [10, 11]),
            call(2, [1, 2, 3, 10, 11, 4, 5], [12]),  # extends: env text 4, 5
            call(3, [1, 2, 7], [13]),  # trimmed: a new span
        ]
    )
    assert [s.token_ids for s in spans] == [[1, 2, 3, 10, 11, 4, 5, 12], [1, 2, 7, 13]]
    assert [s.loss_mask for s in spans] == [[0, 0, 0, 1, 1, 0, 0, 1], [0, 0, 0, 1]]
    assert spans[0].logprobs == [None, None, None, -0.5, -0.5, None, None, -0.5]


@pytest.mark.filterwarnings("ignore::tycoon.parallel.ray_runtime.SingleNodeDatabase")
def test_a_base_url_switched_between_batches_reaches_the_new_server(ray_session, tmp_path) -> None:
    spec = RolloutSpec(db=str(tmp_path / "switch.db"), max_steps=3)
    with FakeOpenAIServer() as old, FakeOpenAIServer() as new:

        async def two_batches() -> tuple[list, list, int]:
            async with RolloutEngine(spec, actors=2, concurrency=2) as engine:
                first = [t async for t in engine.rollouts([0, 1], policy=policy_at(old))]
                served_by_old = len(old.completions)
                second = [t async for t in engine.rollouts([2, 3], policy=policy_at(new))]
            return first, second, served_by_old

        first, second, served_by_old = asyncio.run(two_batches())
        assert served_by_old == 2 * 3 and len(old.completions) == served_by_old
        assert len(new.completions) == 2 * 3
    assert {t.base_url for t in first} == {old.base_url}
    assert {t.base_url for t in second} == {new.base_url}


def test_episodes_stick_to_one_of_several_base_urls(tmp_path) -> None:
    spec = RolloutSpec(db=str(tmp_path / "sticky.db"), max_steps=3)
    with FakeOpenAIServer() as a, FakeOpenAIServer() as b:
        policy = policy_at(a, b)
        # the ports are random, so which seeds go where is too: take four of each, so
        # that both servers must be used (8 seeds all on one would be a 1-in-128 draw)
        routes = {url: [] for url in policy.base_urls}
        for seed in range(256):
            key = f"seed:{seed}:member:0"
            routes[sticky_url(policy.base_urls, key)].append(seed)
        seeds = [seed for chosen in routes.values() for seed in chosen[:4]]
        trajectories = collect(spec, seeds, policy=policy, concurrency=8)
        served = {a.base_url: len(a.completions), b.base_url: len(b.completions)}
    for t in trajectories:
        assert t.base_url == sticky_url(policy.base_urls, f"seed:{t.seed}:member:0")
    routed = {url: sum(len(t.calls) for t in trajectories if t.base_url == url) for url in served}
    assert routed == served and all(served.values())  # both used, each episode on one


def test_requests_in_flight_per_endpoint_are_capped(tmp_path) -> None:
    lock, active, peak = threading.Lock(), [0], [0]

    def slow_reply(_body: dict) -> Reply:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return Reply.tool_call("get_balance")

    spec = RolloutSpec(db=str(tmp_path / "cap.db"), max_steps=4)
    with FakeOpenAIServer(slow_reply) as server:
        trajectories = collect(
            spec, range(6), policy=policy_at(server), concurrency=6, max_in_flight=2
        )
    assert len(trajectories) == 6 and all(t.status == "step_limit" for t in trajectories)
    assert peak[0] == 2


def test_run_rollouts_from_tycoon_rollout_for_scripted_agents(tmp_path) -> None:
    spec = RolloutSpec(db=str(tmp_path / "scripted.db"), agent="baseline", max_days=3)
    trajectories = run_rollouts(spec, [7], group_size=2)
    assert [(t.seed, t.member) for t in sorted(trajectories, key=lambda t: t.member)] == [
        (7, 0),
        (7, 1),
    ]
    one, two = trajectories
    assert one.messages == two.messages and one.rewards == two.rewards  # same seed, same play
    assert one.calls == [] and one.token_spans == [] and one.summary.days == 3
