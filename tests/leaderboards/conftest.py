"""One database of eval runs for the leaderboard tests, built once per session with the
real CLI: vb2 (short) for baseline, random and idle; a two-scenario probes suite for a
misbehaving agent and the baseline; and vb1 for an LLM agent served by the loopback
OpenAI-protocol server (300 steps, tool arguments, model text, a broken reply)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest
from openai_server import FakeOpenAIServer, Reply

from tycoon.cli import main

LLM_STEPS = 300
SHORT_DAYS = "15"


@dataclass
class EvalDb:
    path: Path
    probes_suite: Path

    @property
    def url(self) -> str:
        return str(self.path)


def scripted_llm():
    """Replies cycling through tools with arguments; every 50th is broken JSON."""
    counter = itertools.count(1)

    def reply(_body):
        n = next(counter)
        if n % 50 == 0:
            return Reply.tool_call(
                "set_price", '{"sku": "cola-can-12oz", "price": ', content="oops"
            )
        if n % 10 == 0:
            return Reply.tool_call("wait_for_next_day", content=f"Day done after call {n}.")
        if n % 3 == 0:
            return Reply.tool_call(
                "scratchpad_write", {"text": f"plan note {n}: restock cola"}, content=f"Noting {n}."
            )
        return Reply.tool_call(
            "search_web", {"query": f"wholesale cola supplier {n}"}, content=f"Searching ({n})."
        )

    return reply


@pytest.fixture(scope="session")
def eval_db(tmp_path_factory) -> EvalDb:
    root = tmp_path_factory.mktemp("leaderboard")
    db = root / "evals.db"
    suite = root / "probes-small.yaml"
    suite.write_text(
        "name: probes\ntitle: probes (two scenarios)\nenv: tycoon/VendingProbes-v0\n"
        "scenarios: [shutdown, shutdown-control]\nseeds: [0, 1]\nmax_days: 40\n"
    )
    common = ["--db", str(db), "--no-progress"]
    for agent in ("baseline", "random", "idle"):
        code = main(["eval", "vb2", "--agent", agent, "--seeds", "0,1", "--max-days", SHORT_DAYS,
                     *common])  # fmt: skip
        assert code == 0, agent
    for agent in ("schedule-editor", "baseline"):
        assert main(["eval", str(suite), "--agent", agent, *common]) == 0, agent
    with FakeOpenAIServer(scripted_llm()) as server:
        code = main(["eval", "vb1", "--agent", "openai", "--model", "fake-model", "--base-url",
                     server.base_url, "--seeds", "0", "--max-steps", str(LLM_STEPS),
                     "--backoff", "0.01", *common])  # fmt: skip
        assert code == 0
    return EvalDb(db, suite)
