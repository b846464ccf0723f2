"""Steps per second of the async rollout against a loopback server answering after 200 ms.

For each concurrency K it measures, in the same run:
- ideal: K / latency (every episode always waiting on the model, nothing else costs);
- bare client: K coroutines sending the same requests through AsyncOpenAI with no env,
  no database and no agent (the floor set by the client itself);
- tycoon: `rollout_async` with K LLM-agent episodes (env steps, SQLite commits, per-call
  records, context bookkeeping), into a fresh SQLite file;
and tycoon's own CPU per step: the rollout's CPU time per step minus the bare client's
CPU time per call. Worlds are created before the clock starts (reported apart: a one-off
per episode); the timed rollout resumes them, so it measures steady stepping. The fake server runs in its own process so its CPU is not counted.

    python benchmarks/bench_rollout.py [--latency 0.2] [--concurrency 1 16 64 256]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_server(latency: float) -> tuple[subprocess.Popen, str]:  # type: ignore[type-arg]
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "openai_server.py"), "--delay", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def history(steps: int, tools: list, system: str) -> list[list[dict]]:
    """The message lists an agent sends over `steps` calls (same sizes as tycoon's)."""
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": "Day 1, 06:00. You run a vending machine. " * 4},
    ]
    requests = []
    for i in range(steps):
        requests.append(list(messages))
        call_id = f"chatcmpl-tool-{i:032x}"
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call_id,
                        "type": "function",
                        "function": {"name": "get_balance", "arguments": "{}"},
                    }
                ],
            }
        )
        messages.append(
            {
                "role": "tool",
                "tool_call_id": call_id,
                "content": "Bank balance: $500.00. Machine cash: $0.00.",
            }
        )
    return requests


async def bare_client(
    base_url: str, concurrency: int, steps: int, typed: bool
) -> tuple[float, float, int]:
    from openai import AsyncOpenAI

    from tycoon.agents.llm.agent import system_prompt
    from tycoon.envs.vending.config import CLASSIC
    from tycoon.envs.vending.tools import VENDING_TOOLS

    tools = [t.openai_schema() for t in VENDING_TOOLS]
    requests = history(steps, tools, system_prompt(CLASSIC))
    client = AsyncOpenAI(base_url=base_url, api_key="EMPTY", timeout=60, max_retries=0)

    async def episode() -> None:
        for messages in requests:
            if typed:
                await client.chat.completions.create(
                    model="m", messages=messages, tools=tools, max_tokens=2048
                )
            else:
                await client.chat.completions.create(
                    model="m",
                    messages=[],
                    max_tokens=2048,
                    extra_body={"messages": messages, "tools": tools},
                )

    await episode_warmup(client)
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(episode() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await client.close()
    return wall, cpu, concurrency * steps


async def episode_warmup(client) -> None:  # type: ignore[no-untyped-def]
    await client.models.list()


async def tycoon_rollout(
    base_url: str, concurrency: int, steps: int, db: Path
) -> tuple[float, float, int, float, float]:
    """Create K episodes first (world creation is a one-off, timed apart), then run them
    all concurrently to `steps` steps and time that."""
    import tycoon
    from tycoon.agents.llm import ChatClient, LlmAgent, LlmSettings
    from tycoon.envs.world.store import WorldStore
    from tycoon.rollout import Job, rollout_async

    store = WorldStore(db)

    def make_env():  # type: ignore[no-untyped-def]
        return tycoon.make(
            "tycoon/VendingClassic-v0",
            store=store,
            config={"max_steps": steps},
            agent_name="openai",
            model_name="m",
        )

    setup = time.process_time()
    ids = []
    for seed in range(concurrency):
        env = make_env()
        env.reset(seed=seed)
        ids.append(env.unwrapped.episode_id)
        env.close()
    setup = time.process_time() - setup

    settings = LlmSettings(model="m", base_url=base_url, timeout=60)
    client = ChatClient(settings)
    cpu, wall = time.process_time(), time.perf_counter()
    results = await rollout_async(
        make_env,
        lambda: LlmAgent(settings, client),
        [Job(resume=i) for i in ids],
        concurrency=concurrency,
        progress=False,
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await client.close()
    total = sum(r.steps for r in results)
    stopped = [r.stopped for r in results if r.stopped]
    if stopped:
        raise SystemExit(f"episodes stopped: {stopped[:3]}")
    from sqlalchemy import func, select

    from tycoon.envs.world.schema import Step

    with store.session() as session:
        env_us = session.scalar(select(func.avg(Step.elapsed_us))) or 0
    store.dispose()
    return wall, cpu, total, float(env_us), 1000 * setup / concurrency


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument(
        "--steps", type=int, default=0, help="steps per episode (default: 25 at K<=16, else 15)"
    )
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    server, base_url = start_server(args.latency)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for k in args.concurrency:
                steps = args.steps or (25 if k <= 16 else 15)
                typed = asyncio.run(bare_client(base_url, k, steps, typed=True))
                bare = asyncio.run(bare_client(base_url, k, steps, typed=False))
                ours = asyncio.run(tycoon_rollout(base_url, k, steps, Path(tmp) / f"k{k}.db"))
                ideal = k / args.latency
                row = {
                    "concurrency": k,
                    "ideal": ideal,
                    "bare_typed": typed[2] / typed[0],
                    "bare": bare[2] / bare[0],
                    "tycoon": ours[2] / ours[0],
                    "bare_cpu_ms_per_call": 1000 * bare[1] / bare[2],
                    "bare_typed_cpu_ms_per_call": 1000 * typed[1] / typed[2],
                    "tycoon_cpu_ms_per_step": 1000 * ours[1] / ours[2],
                    "env_step_ms": ours[3] / 1000,
                    "episode_setup_cpu_ms": ours[4],
                }
                row["tycoon_own_cpu_ms_per_step"] = (
                    row["tycoon_cpu_ms_per_step"] - row["bare_cpu_ms_per_call"]
                )
                row["tycoon_vs_bare"] = row["tycoon"] / row["bare"]
                rows.append(row)
                print(
                    f"K={k:>4}: ideal {ideal:7.1f}/s | bare client {row['bare']:6.1f}/s "
                    f"(typed params {row['bare_typed']:6.1f}/s) | tycoon {row['tycoon']:6.1f}/s "
                    f"= {row['tycoon_vs_bare']:.0%} of bare | CPU/step: tycoon "
                    f"{row['tycoon_cpu_ms_per_step']:.2f} ms, client "
                    f"{row['bare_cpu_ms_per_call']:.2f} ms (typed {row['bare_typed_cpu_ms_per_call']:.2f}), "
                    f"tycoon's own {row['tycoon_own_cpu_ms_per_step']:.2f} ms "
                    f"(env step {row['env_step_ms']:.2f} ms; episode setup "
                    f"{row['episode_setup_cpu_ms']:.0f} ms once)",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait()
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
