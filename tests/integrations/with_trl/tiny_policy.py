"""A tiny policy for TRL without a GPU or a download: a byte-level tokenizer with a ChatML
template, built here, and a stub generator that stands in for vLLM (the tests and
benchmarks/bench_integrations.py use both)."""

from __future__ import annotations

import json

from policy import SCRIPT
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
STUB_LOGPROB = -0.25


def byte_tokenizer() -> PreTrainedTokenizerFast:
    """Byte-level, no merges: every byte one token (made here, nothing downloaded)."""
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {token: i for i, token in enumerate([*SPECIALS, *sorted(alphabet)])}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    backend.decoder = decoders.ByteLevel()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
    )  # fmt: skip
    tokenizer.chat_template = CHATML
    return tokenizer


def stub_generator(
    tokenizer: PreTrainedTokenizerFast, calls: list[str], script: list[tuple[str, dict]] = SCRIPT
):
    """Stands in for vLLM: the script's next tool call (by the number of assistant turns
    in the context) as `<tool_call>` text, then the end-of-turn token. The second context
    of each pair collects cash instead of waiting for the next day, so a GRPO group's two
    episodes earn different returns. `script` replaces the policy's script."""

    def generate(prompts: list[list[int]]) -> list[tuple[list[int], list[float]]]:
        outputs = []
        for index, ids in enumerate(prompts):
            turn = tokenizer.decode(ids).count("<|im_start|>assistant") - 1
            name, arguments = script[min(turn, len(script) - 1)]
            if name == "wait_for_next_day" and index % 2:
                name, arguments = "collect_cash", {}
            call = json.dumps({"name": name, "arguments": arguments})
            reply = f"<tool_call>\n{call}\n</tool_call>"
            calls.append(reply)
            completion = tokenizer(reply, add_special_tokens=False)["input_ids"]
            completion.append(tokenizer.eos_token_id)
            outputs.append((completion, [STUB_LOGPROB] * len(completion)))
        return outputs

    return generate
