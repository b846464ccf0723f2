"""examples/trl_grpo.py's data path, without a GPU: its rollout function plays episodes on
a real `tycoon env-server` (OpenEnv WebSocket sessions), with a stub generator standing in
for vLLM (scripted tool calls as token ids) and a tiny byte-level tokenizer built here; then
TRL's GRPOTrainer takes one real step on a tiny randomly initialised model config."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import gymnasium
import pytest
import torch
from servers import EnvServer
from sqlalchemy import text
from tiny_policy import STUB_LOGPROB, byte_tokenizer, stub_generator
from transformers import AutoModelForCausalLM, Qwen2Config

from tycoon.envs.world.store import WorldStore

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "trl_grpo.py"


def _example():
    spec = importlib.util.spec_from_file_location("trl_grpo", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["trl_grpo"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def server(tmp_path):
    env_server = EnvServer(str(tmp_path / "grpo.db"), tmp_path / "server.log")
    yield env_server
    env_server.stop()


def _rollout(example, server, tokenizer, calls, seeds="3"):
    prompts, seeds_by_prompt = example.task_prompts("tycoon/VendingClassic-v0", None, seeds)
    rollout = example.TycoonRollout(
        server.url, tokenizer, seeds_by_prompt, generate=stub_generator(tokenizer, calls),
        num_generations=2, max_turns=10, max_completion_length=4096, max_steps=4,
    )  # fmt: skip
    return prompts, rollout


def _steps(db: Path, episode_id: str):
    with WorldStore(str(db)).engine.connect() as conn:
        query = text("SELECT tool, valid, reward FROM steps WHERE episode_id = :e ORDER BY id")
        return conn.execute(query, {"e": int(episode_id)}).all()


def test_rollout_with_a_stub_generator_gives_trl_ids_masks_logprobs_and_returns(server, tmp_path):
    example = _example()
    tokenizer = byte_tokenizer()
    calls: list[str] = []
    prompts, rollout = _rollout(example, server, tokenizer, calls)
    assert len(prompts) == 1
    output = rollout(prompts * 2, trainer=None)  # as TRL's sampler repeats it: one group
    episodes = list(zip(*(output[key] for key in output), strict=True))
    assert len(episodes) == 2
    seeds = [
        WorldStore(str(tmp_path / "grpo.db")).get_episode(int(e)).seed for e in output["episode_id"]
    ]
    assert seeds == [3, 3] and len(set(output["episode_id"])) == 2  # a group shares its start
    first, _ = gymnasium.make("tycoon/VendingClassic-v0").reset(seed=3)
    expected_prompt = tokenizer.apply_chat_template(
        [*prompts[0], {"role": "user", "content": first}], add_generation_prompt=True,
        tokenize=False,
    )  # fmt: skip
    for index, (prompt_ids, completion_ids, logprobs, env_mask, ret, invalid, episode_id) in (
        enumerate(episodes)
    ):  # fmt: skip
        assert tokenizer.decode(prompt_ids) == expected_prompt
        assert len(completion_ids) == len(logprobs) == len(env_mask)
        model_ids = [t for t, m in zip(completion_ids, env_mask, strict=True) if m == 1]
        env_ids = [t for t, m in zip(completion_ids, env_mask, strict=True) if m == 0]
        # the model's tokens are exactly what the generator produced, each turn ended by it
        own = calls[index::2]
        assert tokenizer.decode(model_ids) == "<|im_end|>".join(own) + "<|im_end|>"
        assert all(lp == STUB_LOGPROB for lp, m in zip(logprobs, env_mask, strict=True) if m)
        assert all(lp == 0.0 for lp, m in zip(logprobs, env_mask, strict=True) if not m)
        # tycoon's observations are environment tokens, its error for the bad call included
        written = tokenizer.decode(env_ids)
        assert "Bank balance: $500.00" in written and "Error:" in written
        # the stream is the whole conversation as the chat template writes it
        steps = _steps(tmp_path / "grpo.db", episode_id)
        assert len(steps) == 4 and [s.valid for s in steps] == [True, False, True, True]
        assert invalid == 1, "the bad send_payment reached tycoon"
        assert ret == pytest.approx(sum(step.reward for step in steps))
        stream = tokenizer.decode(prompt_ids + completion_ids)
        assert stream.count("<|im_start|>assistant") == 4 and stream.endswith("<|im_end|>")
        assert "<|im_end|><|im_end|>" not in stream
    assert [s.tool for s in _steps(tmp_path / "grpo.db", output["episode_id"][1])][-1] == (
        "collect_cash"
    )
    assert output["episode_return"][0] != output["episode_return"][1]


def test_seeds_whose_prompts_read_the_same_are_played_in_turn(server):
    example = _example()
    prompts, seeds_by_prompt = example.task_prompts("tycoon/VendingClassic-v0", None, "3-5")
    assert len(prompts) == 3 and len(seeds_by_prompt) == 1  # one system prompt for all seeds
    rollout = example.TycoonRollout(server.url, byte_tokenizer(), seeds_by_prompt)
    assert [rollout._seed_for(prompt) for prompt in prompts * 2] == [3, 4, 5, 3, 4, 5]


def test_one_grpo_step_on_a_tiny_model_config_with_thestub_generator(server, tmp_path):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    example = _example()
    tokenizer = byte_tokenizer()
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(
        Qwen2Config(
            vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32,
            num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
            max_position_embeddings=32768, pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    )  # fmt: skip
    before = [p.detach().clone() for p in model.parameters()]
    calls: list[str] = []
    prompts, rollout = _rollout(example, server, tokenizer, calls, seeds="5")
    config = GRPOConfig(
        output_dir=str(tmp_path / "out"), use_vllm=False, num_generations=2,
        per_device_train_batch_size=2, gradient_accumulation_steps=1, max_steps=1,
        max_completion_length=4096, learning_rate=1e-2, logging_steps=1, report_to=[],
        save_strategy="no", use_cpu=True, bf16=False, beta=0.0,
    )  # fmt: skip
    trainer = GRPOTrainer(
        model=model, processing_class=tokenizer, reward_funcs=[example.episode_return],
        train_dataset=Dataset.from_dict({"prompt": prompts}), args=config, rollout_func=rollout,
    )  # fmt: skip
    trainer.train()
    [logged] = [entry for entry in trainer.state.log_history if "reward" in entry]
    returns = sorted(sum(s.reward for s in _steps(tmp_path / "grpo.db", e.id)) for e in
                     WorldStore(str(tmp_path / "grpo.db")).list_episodes())  # fmt: skip
    assert len(returns) == 2 and returns[0] != returns[1]
    assert logged["reward"] == pytest.approx(sum(returns) / 2)
    assert math.isfinite(logged["loss"])
    changed = any(
        not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters(), strict=True)
    )
    assert changed, "the step's advantages (different returns in the group) moved the weights"
