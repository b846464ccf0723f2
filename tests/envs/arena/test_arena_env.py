"""VendingArena-v0: PettingZoo conformance, determinism, the time model and the channels
between operators."""

from __future__ import annotations

import json
import warnings

import pytest
from pettingzoo.test import api_test, parallel_api_test, parallel_seed_test, seed_test

from tycoon.envs.arena import vending_arena_v0
from tycoon.envs.arena.config import ArenaConfig

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def call(name: str, **arguments) -> str:
    return json.dumps({"name": name, "arguments": arguments})


WAIT = call("wait_for_next_day")
BALANCE = call("get_balance")


def test_module_follows_pettingzoo_conventions():
    env = vending_arena_v0.env(num_operators=3, max_days=2)
    assert env.metadata["name"] == "vending_arena_v0"
    assert env.possible_agents == ["operator_0", "operator_1", "operator_2"]
    assert isinstance(vending_arena_v0.raw_env(), vending_arena_v0.raw_env)
    assert env.observation_space("operator_1") is env.observation_space("operator_1")
    with pytest.raises(ValueError, match="num_operators"):
        vending_arena_v0.env(num_operators=5)
    with pytest.raises(ValueError, match="scenario"):
        vending_arena_v0.env(scenario="nope")
    with pytest.raises(ValueError, match="render_mode"):
        vending_arena_v0.env(render_mode="human")


def test_api_test():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        api_test(vending_arena_v0.env(num_operators=3, max_days=2), num_cycles=40)


def test_parallel_api_test():
    parallel_api_test(vending_arena_v0.parallel_env(num_operators=2, max_days=2), num_cycles=40)


def test_seed_tests():
    seed_test(lambda: vending_arena_v0.env(num_operators=2, max_days=2), num_cycles=20)
    parallel_seed_test(
        lambda: vending_arena_v0.parallel_env(num_operators=2, max_days=2), num_cycles=20
    )


def scripted(agent: str, step: int) -> str:
    """A fixed mix of cheap reads, a search, mail to the rival and day ends."""
    seat = int(agent.rsplit("_", 1)[1])
    other = f"operator{1 - seat}@vendarena.example"
    plan = [
        BALANCE,
        call("search_web", query="soda"),
        call("send_email", to=other, subject="hello", body=f"from {agent} at step {step}"),
        call("read_inbox"),
        WAIT,
    ]
    return plan[step % len(plan)]


def play_aec(env, seed: int, steps: int) -> list[tuple[str, str]]:
    env.reset(seed=seed)
    counts: dict[str, int] = {}
    trail = []
    for agent in env.agent_iter(steps):
        _obs, _reward, terminated, truncated, _info = env.last()
        if terminated or truncated:
            env.step(None)
            continue
        action = scripted(agent, counts.get(agent, 0))
        counts[agent] = counts.get(agent, 0) + 1
        env.step(action)
        trail.append((agent, env.observe(agent)))
    return trail


def test_same_seed_and_actions_same_world_and_observations(tmp_path):
    first = vending_arena_v0.env(num_operators=2, max_days=4, db=str(tmp_path / "a.db"))
    second = vending_arena_v0.env(num_operators=2, max_days=4, db=str(tmp_path / "b.db"))
    assert play_aec(first, 7, 60) == play_aec(second, 7, 60)
    assert first.state_hash() == second.state_hash()
    third = vending_arena_v0.env(num_operators=2, max_days=4)
    play_aec(third, 8, 60)
    assert third.state_hash() != first.state_hash()


def test_turn_goes_to_the_earliest_clock_and_the_night_waits_for_everyone():
    env = vending_arena_v0.env(num_operators=2, max_days=5)
    env.reset(seed=1)
    assert env.agent_selection == "operator_0"
    env.step(call("search_web", query="soda"))  # 25 minutes: operator_1 is now earlier
    assert env.agent_selection == "operator_1"
    env.step(BALANCE)  # 5 minutes: operator_1 still earliest (06:05 < 06:25)
    assert env.agent_selection == "operator_1"
    env.step(WAIT)
    assert env.infos["operator_1"]["waiting"] is True
    assert "has ended" in env.observe("operator_1")
    assert env.infos["operator_1"]["day"] == 1  # no night yet
    # only operator_0 is selected until it ends its day too
    for _ in range(3):
        assert env.agent_selection == "operator_0"
        env.step(BALANCE)
    env.step(WAIT)
    for agent in env.agents:
        info = env.infos[agent]
        assert info["day"] == 2 and info["time"] == "06:00" and not info["waiting"]
        assert "night" in info
        assert env.observe(agent).startswith("Day 1 is over")
    # the night charged both daily fees
    assert env.infos["operator_0"]["bank_balance"] == 498.0


def test_parallel_env_ignores_waiting_operators_and_does_not_depend_on_dict_order():
    def run(order: list[str]) -> str:
        env = vending_arena_v0.parallel_env(num_operators=3, max_days=3)
        env.reset(seed=4)
        for step in range(12):
            actions = {}
            for agent in order:
                if agent in env.agents:
                    actions[agent] = scripted(agent, step + int(agent[-1]))
            env.step(actions)
        return env.state_hash()

    agents = ["operator_0", "operator_1", "operator_2"]
    assert run(agents) == run(list(reversed(agents)))

    env = vending_arena_v0.parallel_env(num_operators=2, max_days=3)
    env.reset(seed=4)
    _obs, _rew, _term, _trunc, infos = env.step({"operator_0": WAIT, "operator_1": BALANCE})
    assert infos["operator_0"]["waiting"] and not infos["operator_1"]["waiting"]
    before = env.core.sim.worlds[0].episode.step_count
    _obs, _rew, _term, _trunc, infos = env.step({"operator_0": BALANCE, "operator_1": BALANCE})
    assert env.core.sim.worlds[0].episode.step_count == before  # ignored while waiting
    assert infos["operator_0"]["waiting"]


def test_parallel_env_gives_the_world_of_the_same_actions_applied_one_by_one():
    env = vending_arena_v0.parallel_env(num_operators=2, max_days=3)
    env.reset(seed=11)
    for step in range(15):
        env.step({agent: scripted(agent, step) for agent in env.agents})
    applied = list(env.core.applied)
    from tycoon.envs.arena.core import ArenaCore
    from tycoon.envs.world.store import WorldStore

    replay = ArenaCore(ArenaConfig(num_operators=2, max_days=3), WorldStore(":memory:"))
    replay.open(11, None)
    for seat, action in applied:
        replay.apply(seat, action)
    assert replay.sim.state_hash() == env.state_hash()


def test_mail_between_operators_arrives_when_the_readers_clock_reaches_it():
    env = vending_arena_v0.env(num_operators=2, max_days=5)
    env.reset(seed=2)
    env.step(call("send_email", to="operator1@vendarena.example", subject="Hi", body="deal?"))
    # sent at 06:25 by operator_0's clock; operator_1 (06:00) reads at 06:00: not there yet
    assert env.agent_selection == "operator_1"
    env.step(call("read_inbox"))
    assert "deal?" not in env.observe("operator_1")
    env.step(call("search_web", query="chips"))  # operator_1: 06:05 -> 06:30
    while env.agent_selection != "operator_1":
        env.step(BALANCE)
    env.step(call("read_inbox"))
    assert "deal?" in env.observe("operator_1")
    assert "operator0@vendarena.example" in env.observe("operator_1")
    # the night does not bounce mail to another operator
    while env.agents and env.infos["operator_0"]["day"] == 1:
        env.step(WAIT)
    while env.agent_selection != "operator_0":
        env.step(BALANCE)
    env.step(call("read_inbox"))
    assert "Undeliverable" not in env.observe("operator_0")


def test_payments_between_operators_move_money_and_are_recorded():
    from sqlalchemy import select

    from tycoon.envs.arena.schema import ArenaTransfer
    from tycoon.envs.world.schema import LedgerEntry

    env = vending_arena_v0.env(num_operators=2, max_days=5)
    env.reset(seed=2)
    env.step(
        call("send_payment", to_account="acct-operator-1", amount=120.5, memo="for your stock")
    )
    info = env.infos["operator_0"]
    assert not info["invalid_action"] and info["bank_balance"] == pytest.approx(379.5)
    assert env.infos["operator_1"]["bank_balance"] == pytest.approx(620.5)
    env.step(call("read_inbox"))
    assert "Payment received from acct-operator-0" in env.observe("operator_1")
    sim = env.core.sim
    with sim.store.session() as session:
        transfers = list(session.scalars(select(ArenaTransfer)))
        assert [(t.from_seat, t.to_seat, t.amount_cents) for t in transfers] == [(0, 1, 12050)]
        kinds = session.scalars(
            select(LedgerEntry.kind).where(LedgerEntry.amount_cents == 12050)
        ).all()
        assert sorted(kinds) == ["operator_payment", "operator_payment"]
    # refused: own account, more than the bank holds; nothing changes
    while env.agent_selection != "operator_0":
        env.step(BALANCE)
    env.step(call("send_payment", to_account="acct-operator-0", amount=1))
    assert env.infos["operator_0"]["invalid_action"]
    while env.agent_selection != "operator_0":
        env.step(BALANCE)
    env.step(call("send_payment", to_account="acct-operator-1", amount=100000))
    assert env.infos["operator_0"]["invalid_action"]
    assert env.infos["operator_0"]["bank_balance"] == pytest.approx(379.5)


def test_max_days_truncates_every_operator_and_the_market_ends():
    env = vending_arena_v0.env(num_operators=2, max_days=2)
    env.reset(seed=3)
    for _agent in env.agent_iter(100):
        _obs, _r, terminated, truncated, _info = env.last()
        env.step(None if terminated or truncated else WAIT)
    assert env.agents == []
    assert env.core.sim.market.status == "over"
    assert env.core.sim.market.day == 2


def test_render_ansi_shows_every_operator():
    env = vending_arena_v0.env(num_operators=2, max_days=2, render_mode="ansi")
    env.reset(seed=3)
    text = env.render()
    assert "operator_0" in text and "operator_1" in text and "$500.00" in text


def test_a_forked_market_continues_exactly_as_the_original(tmp_path):
    db = str(tmp_path / "fork.db")
    original = vending_arena_v0.env(num_operators=2, max_days=4, db=db)
    original.reset(seed=9)
    counts: dict[str, int] = {}

    def advance(env, steps: int) -> None:
        for agent in env.agent_iter(steps):
            _obs, _r, terminated, truncated, info = env.last()
            if terminated or truncated:
                env.step(None)
                continue
            env.step(scripted(agent, int(info["step"])))
            counts[agent] = counts.get(agent, 0) + 1

    advance(original, 17)
    copy_id = original.fork()
    assert copy_id != original.market_id
    advance(original, 10_000)
    branch = vending_arena_v0.env(num_operators=2, max_days=4, db=db)
    branch.reset(options={"market_id": copy_id})
    assert branch.market_id == copy_id
    advance(branch, 10_000)
    assert branch.state_hash() == original.state_hash()


def test_parallel_state_is_the_whole_market_and_moves_with_the_clock(tmp_path):
    env = vending_arena_v0.parallel_env(num_operators=2, max_days=3, db=str(tmp_path / "s.db"))
    with pytest.raises(RuntimeError, match="reset"):
        env.state()
    env.reset(seed=4)
    before = env.state()
    assert before.splitlines()[0].startswith("market 1 | day 1")
    assert [line.split(":", 1)[0] for line in before.splitlines()[1:]] == env.possible_agents
    env.step({agent: WAIT for agent in env.agents})
    assert env.state().splitlines()[0].startswith("market 1 | day 2")
    env.close()
