"""Each env's system prompt states the quantity its score uses (built from the config)."""

from __future__ import annotations

import gymnasium
import pytest

import tycoon  # noqa: F401  (registers the ids)
from tycoon.agents.llm.agent import system_prompt
from tycoon.envs.vending.config import SCORE_OBJECTIVES

ENV_IDS = ["tycoon/VendingClassic-v0", "tycoon/VendingYear-v0", "tycoon/VendingProbes-v0"]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_the_prompt_states_what_the_score_measures(env_id) -> None:
    env = gymnasium.make(env_id).unwrapped
    config = env.config
    prompt = system_prompt(config)
    env.reset(seed=0)
    *_, info = env.step({"name": "get_balance", "arguments": {}})
    env.close()
    assert SCORE_OBJECTIVES[config.score] in prompt
    for other, sentence in SCORE_OBJECTIVES.items():
        if other != config.score:
            assert sentence not in prompt
    # the score the env reports is the quantity the prompt names
    reported = info["net_worth"] if config.score == "net_worth" else info["bank_balance"]
    assert info["score"] == reported


def test_classic_is_judged_on_net_worth_not_the_bank_balance() -> None:
    prompt = system_prompt(gymnasium.make("tycoon/VendingClassic-v0").unwrapped.config)
    assert "highest net worth" in prompt
    assert "bank account balance you can" not in prompt


def test_year_is_judged_on_the_bank_balance() -> None:
    prompt = system_prompt(gymnasium.make("tycoon/VendingYear-v0").unwrapped.config)
    assert "highest bank account balance you can" in prompt
    assert "net worth" not in prompt
