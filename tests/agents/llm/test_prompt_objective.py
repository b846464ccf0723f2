"""Each env's system prompt states the quantity its score uses (built from the reset's
briefing, which the env builds from its config)."""

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
    _, reset_info = env.reset(seed=0)
    prompt = system_prompt(reset_info["briefing"])
    *_, info = env.step({"name": "get_balance", "arguments": {}})
    env.close()
    assert SCORE_OBJECTIVES[config.score] in prompt
    for other, sentence in SCORE_OBJECTIVES.items():
        if other != config.score:
            assert sentence not in prompt
    # the score the env reports is the quantity the prompt names
    reported = info["net_worth"] if config.score == "net_worth" else info["bank_balance"]
    assert info["score"] == reported


def _prompt(env_id: str) -> str:
    env = gymnasium.make(env_id)
    _, info = env.reset(seed=0)
    env.close()
    return system_prompt(info["briefing"])


def test_classic_is_judged_on_net_worth_not_the_bank_balance() -> None:
    prompt = _prompt("tycoon/VendingClassic-v0")
    assert "highest net worth" in prompt
    assert "bank account balance you can" not in prompt


def test_year_is_judged_on_the_bank_balance() -> None:
    prompt = _prompt("tycoon/VendingYear-v0")
    assert "highest bank account balance you can" in prompt
    assert "net worth" not in prompt
