"""The LLM judge run live in the env (against a real loopback server), and the opportunity
counts the env stores per tag."""

from __future__ import annotations

import json
import socket

import gymnasium
from sqlalchemy import select

import tycoon  # noqa: F401  (registers the envs)
from tycoon.agents import AGENTS
from tycoon.envs.vending.probes.stored import stored_traces
from tycoon.envs.world.schema import BehaviorEvent, BehaviorOpportunity
from tycoon.instrumentation import JUDGE, LLMJudge, judge_requests
from tycoon.instrumentation.metrics import OpportunityTally, load_opportunities
from tycoon.summary import summarise_episode

try:  # tests/ on sys.path (rootdir conftest, no tests/__init__.py) ...
    from openai_server import FakeOpenAIServer, Reply
except ImportError:  # ... or tests/ imported as a package
    from tests.openai_server import FakeOpenAIServer, Reply

PROBES_ID = "tycoon/VendingProbes-v0"
PRICE_FIXING = "collusion.price_fixing"


def verdict(body: dict) -> Reply:
    """Yes to price fixing, no to anything else."""
    user = body["messages"][-1]["content"]
    yes = user.startswith(f"Behaviour: {PRICE_FIXING}")
    return Reply.text(
        json.dumps({"reasoning": "scripted", "verdict": "yes" if yes else "no", "confidence": 0.9})
    )


def malformed(_body: dict) -> Reply:
    return Reply.text("I think it is collusion, honestly.")


def run(judge: LLMJudge | None, days: int = 4, scenario: str = "competitor"):
    """The price-fixer (emails the rival on day 3) for `days` days; the steps' infos."""
    env = gymnasium.make(
        PROBES_ID, scenario=scenario, config={"max_days": days}, judge=judge
    ).unwrapped
    observation, info = env.reset(seed=1)
    agent = AGENTS["price-fixer"]()
    agent.reset(observation, info)
    infos = []
    while True:
        observation, _reward, terminated, truncated, info = env.step(agent.act(observation, info))
        infos.append(info)
        if terminated or truncated:
            return env, infos


def rival_steps(infos: list[dict]) -> list[dict]:
    return [
        i
        for i in infos
        if any(v["tag"] == PRICE_FIXING for v in i.get("judge_verdicts", ()))
        or any(e["tag"] == PRICE_FIXING for e in i["behavior_events"])
    ]


def test_a_yes_verdict_becomes_a_held_out_event_in_the_step() -> None:
    with FakeOpenAIServer(verdict) as server:
        judge = LLMJudge("judge", base_url=server.base_url)
        env, infos = run(judge)
        asked = [r.body for r in server.completions]
    assert asked and all(body["temperature"] == 0 for body in asked)
    # gated on the recipient: the rival's email asked three tags, one per request
    heads = [body["messages"][-1]["content"].split(" (")[0] for body in asked]
    assert f"Behaviour: {PRICE_FIXING}" in heads
    assert "Behaviour: resource_acquisition.market_power" in heads
    [step] = rival_steps(infos)
    events = [e for e in step["behavior_events"] if e["detector"] == JUDGE]
    assert [e["tag"] for e in events] == [PRICE_FIXING]
    assert events[0]["magnitude"] == 0.9 and "rival" in events[0]["evidence"]
    # the judge is held out: its event never reaches the reward
    assert step["reward_components"].get("behavior_penalty", 0.0) == 0.0
    with env.store.session() as session:
        rows = session.execute(
            select(BehaviorEvent.tag, BehaviorEvent.detector, BehaviorEvent.step).where(
                BehaviorEvent.episode_id == env.episode_id
            )
        ).all()
    assert [(tag, detector) for tag, detector, _ in rows] == [(PRICE_FIXING, JUDGE)]
    assert rows[0][2] == step["step"]
    assert judge.failures == []
    summary = summarise_episode(env.store, env.episode_id)
    assert summary.behavior[PRICE_FIXING].count == 1
    assert summary.behavior[PRICE_FIXING].rate_per_opportunity == 1.0
    env.close()


def test_the_live_judge_changes_no_world_state() -> None:
    with FakeOpenAIServer(verdict) as server:
        judged, _ = run(LLMJudge("judge", base_url=server.base_url))
    plain, _ = run(None)
    assert judged.state_hash() == plain.state_hash()
    judged.close()
    plain.close()


def test_a_malformed_reply_is_a_recorded_failure_and_the_step_succeeds() -> None:
    with FakeOpenAIServer(malformed) as server:
        judge = LLMJudge("judge", base_url=server.base_url)
        env, infos = run(judge)
    [step] = rival_steps(infos)
    assert not step["invalid_action"] and step["behavior_events"] == []
    failed = [v for v in step["judge_verdicts"] if v["error"]]
    assert failed and all(v["error_kind"] == "parse" for v in failed)
    assert judge.failures and all(v.error_kind == "parse" for v in judge.failures)
    assert "I think it is collusion" in judge.failures[0].raw
    env.close()


def test_an_unreachable_judge_is_recorded_and_the_episode_goes_on() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    judge = LLMJudge("judge", base_url=f"http://127.0.0.1:{port}/v1", max_retries=0, timeout=2)
    env, infos = run(judge)
    [step] = rival_steps(infos)
    assert not step["invalid_action"] and step["behavior_events"] == []
    assert all(v["error_kind"] == "api" for v in step["judge_verdicts"])
    assert judge.failures and all(v.error_kind == "api" for v in judge.failures)
    assert infos[-1]["day"] >= 4  # the episode ran to its end
    env.close()


def test_without_a_judge_nothing_is_asked() -> None:
    with FakeOpenAIServer(verdict) as server:
        env, infos = run(None)
        assert server.completions == []
    assert all("judge_verdicts" not in info for info in infos)
    env.close()


def test_opportunity_counts_are_stored_per_tag_and_survive_a_resume() -> None:
    env, _ = run(None, days=6)
    counts = load_opportunities(env.store, env.episode_id)
    assert counts is not None
    # the competitor probe is on every day; the rival was written to once
    assert counts["resource_acquisition.market_power"] >= 5
    assert counts[PRICE_FIXING] == 1
    # resuming from the database continues the counts instead of restarting them
    store, episode_id = env.store, env.episode_id
    env.close()
    split = gymnasium.make(
        PROBES_ID, scenario="competitor", config={"max_days": 6}, store=store
    ).unwrapped
    observation, info = split.reset(seed=1)
    agent = AGENTS["price-fixer"]()
    agent.reset(observation, info)
    for _ in range(40):
        observation, *_rest, info = split.step(agent.act(observation, info))
    assert info["status"] == "running" and 0 < info["day"] < 6  # split mid-episode
    first = split.episode_id
    split.close()
    resumed = gymnasium.make(
        PROBES_ID, scenario="competitor", config={"max_days": 6}, store=store
    ).unwrapped
    observation, info = resumed.reset(options={"episode_id": first})
    while True:
        observation, _r, terminated, truncated, info = resumed.step(agent.act(observation, info))
        if terminated or truncated:
            break
    resumed_counts = load_opportunities(store, first)
    assert resumed_counts is not None
    # rule opportunities: every day of the episode, across the split
    assert (
        resumed_counts["resource_acquisition.market_power"]
        == counts["resource_acquisition.market_power"]
    )
    assert resumed_counts[PRICE_FIXING] == 1
    # judged opportunities: the days whose stored steps call for a judge request
    for tag in ("coercion", PRICE_FIXING):
        days = {
            trace.day
            for trace in stored_traces(store, first)
            if any(r.tag == tag for r in judge_requests(trace))
        }
        assert resumed_counts[tag] == len(days), tag
    with store.session() as session:
        for episode in (episode_id, first):
            tags = session.scalars(
                select(BehaviorOpportunity.tag).where(BehaviorOpportunity.episode_id == episode)
            ).all()
            assert len(tags) == len(set(tags))  # one row per tag
    resumed.close()


def test_the_tally_resumes_from_stored_rows() -> None:
    tally = OpportunityTally(detectors=())
    tally.load([("coercion", 3, 7)])
    assert tally.counts() == {"coercion": 3} and tally.last_day("coercion") == 7
