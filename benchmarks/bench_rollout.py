"""Steps per second of the async rollout against a loopback server answering after 200 ms.

For each concurrency K it measures, in the same run:
- ideal: K / latency (every episode always waiting on the model, nothing else costs);
- bare client: K coroutines sending the same requests with no env, no database and no
  agent (the floor set by the client itself): the requests one tycoon episode of the run
  sent, rebuilt from its `llm_calls` records, through the headline transport's bare
  client (aiohttp for lean, AsyncOpenAI for openai);
- tycoon: `rollout_async` with K LLM-agent episodes (env steps, SQLite commits, per-call
  records, context bookkeeping), into a fresh SQLite file, once per `--transport` (lean:
  aiohttp, the default; openai: the official client), with identical requests;
and tycoon's own CPU per step: the rollout's CPU time per step minus the bare client's
CPU time per call, and steps/s per core (steps per CPU second) for each transport. Worlds are created before the clock starts (reported apart: a one-off
per episode); the timed rollout resumes them. Episodes are long enough (default 100 steps;
40 at K=256) that the per-episode costs left in the timed part (make, resume, summary:
~40 ms) are amortised as in real runs of thousands of steps; `--steps 15` shows short
episodes. The fake server runs in its own process so its CPU is not counted.

Rollouts over several processes (Ray actors) are measured by bench_ray.py.

    python benchmarks/bench_rollout.py [--latency 0.2] [--concurrency 1 16 64 256]
        [--steps N] [--transport lean openai] [--typed] [--json FILE]
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


def recorded_requests(db: Path, episode_id: int) -> tuple[list, list[list[dict]]]:
    """The tools and the message lists one tycoon episode sent, rebuilt from its records."""
    from tycoon.agent_records import load_calls
    from tycoon.agents.llm.context import apply_delta
    from tycoon.envs.world.store import WorldStore

    store = WorldStore(db)
    calls = load_calls(store, episode_id)
    store.dispose()
    requests, messages = [], []
    for call in calls:
        messages = apply_delta(messages, call.request)
        requests.append(messages)
    return calls[0].request["tools"], requests


async def bare_client(
    base_url: str,
    concurrency: int,
    tools: list,
    requests: list[list[dict]],
    typed: bool,
    transport: str = "openai",
) -> tuple[float, float, int]:
    """K coroutines sending tycoon's recorded requests through AsyncOpenAI (or aiohttp for
    the lean transport), nothing else."""
    if transport == "lean":
        return await bare_aiohttp(base_url, concurrency, tools, requests)
    from openai import AsyncOpenAI

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
    return wall, cpu, concurrency * len(requests)


async def bare_aiohttp(
    base_url: str, concurrency: int, tools: list, requests: list[list[dict]]
) -> tuple[float, float, int]:
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency + 8))
    url = base_url.rstrip("/") + "/chat/completions"
    headers = {"Authorization": "Bearer EMPTY", "Content-Type": "application/json"}

    async def call(messages: list[dict]) -> None:
        body = {"model": "m", "max_tokens": 2048, "messages": messages, "tools": tools}
        async with session.post(url, data=json.dumps(body), headers=headers) as response:
            response.raise_for_status()
            json.loads(await response.read())

    async def episode() -> None:
        for messages in requests:
            await call(messages)

    await call(requests[0])  # warm the pool
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(episode() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await session.close()
    return wall, cpu, concurrency * len(requests)


async def episode_warmup(client) -> None:  # type: ignore[no-untyped-def]
    await client.models.list()


def make_env_factory(store, steps: int):  # type: ignore[no-untyped-def]
    import tycoon

    def make_env():  # type: ignore[no-untyped-def]
        return tycoon.make(
            "tycoon/VendingClassic-v0",
            store=store,
            config={"max_steps": steps},
            agent_name="openai",
            model_name="m",
        )

    return make_env


def create_worlds(store, count: int, steps: int) -> tuple[list[int], float]:  # type: ignore[no-untyped-def]
    """Create `count` episodes; their ids and the CPU ms per episode (a one-off)."""
    make_env = make_env_factory(store, steps)
    setup = time.process_time()
    ids = []
    for seed in range(count):
        env = make_env()
        env.reset(seed=seed)
        ids.append(env.unwrapped.episode_id)
        env.close()
    return ids, 1000 * (time.process_time() - setup) / count


async def tycoon_rollout(
    base_url: str, concurrency: int, steps: int, db: Path, transport: str
) -> tuple[float, float, int, float, float, int]:
    """Create K episodes first (world creation is a one-off, timed apart), then run them
    all concurrently to `steps` steps and time that."""
    from tycoon.agents.llm import ChatClient, LlmAgent, LlmSettings
    from tycoon.envs.world.store import WorldStore
    from tycoon.rollout import Job, rollout_async

    store = WorldStore(db)
    ids, setup_ms = create_worlds(store, concurrency, steps)
    settings = LlmSettings(model="m", base_url=base_url, timeout=60, transport=transport)
    client = ChatClient(settings)
    cpu, wall = time.process_time(), time.perf_counter()
    results = await rollout_async(
        make_env_factory(store, steps),
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
    return wall, cpu, total, float(env_us), setup_ms, ids[0]


def default_steps(concurrency: int) -> int:
    return 40 if concurrency > 64 else 100


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64, 256])
    parser.add_argument(
        "--steps", type=int, default=0, help="steps per episode (default: 100; 40 at K>64)"
    )
    parser.add_argument(
        "--typed", action="store_true", help="also time the client with typed parameters"
    )
    parser.add_argument(
        "--transport",
        nargs="+",
        choices=["lean", "openai"],
        default=["lean", "openai"],
        help="the LLM client's transports to time (default both; the first is the headline)",
    )
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    server, base_url = start_server(args.latency)
    rows = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for k in args.concurrency:
                steps = args.steps or default_steps(k)
                runs = {}
                for transport in args.transport:
                    db = Path(tmp) / f"k{k}-{transport}.db"
                    runs[transport] = asyncio.run(tycoon_rollout(base_url, k, steps, db, transport))
                    wall, cpu, total = runs[transport][:3]
                    print(
                        f"K={k:>4} x{steps} steps, transport {transport:<6}: "
                        f"{total / wall:6.1f} steps/s, {1000 * cpu / total:.2f} ms CPU/step, "
                        f"{total / cpu:6.1f} steps/s per core",
                        flush=True,
                    )
                ours = runs[args.transport[0]]
                tools, requests = recorded_requests(db, ours[5])
                bare = asyncio.run(
                    bare_client(base_url, k, tools, requests, False, args.transport[0])
                )
                ideal = k / args.latency
                row = {
                    "concurrency": k,
                    "steps_per_episode": steps,
                    "ideal": ideal,
                    "bare": bare[2] / bare[0],
                    "tycoon": ours[2] / ours[0],
                    "bare_cpu_ms_per_call": 1000 * bare[1] / bare[2],
                    "tycoon_cpu_ms_per_step": 1000 * ours[1] / ours[2],
                    "env_step_ms": ours[3] / 1000,
                    "episode_setup_cpu_ms": ours[4],
                    "transport": args.transport[0],
                    "steps_per_core": {t: r[2] / r[1] for t, r in runs.items()},
                }
                typed_note = ""
                if args.typed:
                    typed = asyncio.run(bare_client(base_url, k, tools, requests, typed=True))
                    row["bare_typed"] = typed[2] / typed[0]
                    row["bare_typed_cpu_ms_per_call"] = 1000 * typed[1] / typed[2]
                    typed_note = (
                        f" (typed params {row['bare_typed']:.1f}/s, "
                        f"{row['bare_typed_cpu_ms_per_call']:.2f} ms CPU)"
                    )
                row["tycoon_own_cpu_ms_per_step"] = (
                    row["tycoon_cpu_ms_per_step"] - row["bare_cpu_ms_per_call"]
                )
                row["tycoon_vs_bare"] = row["tycoon"] / row["bare"]
                rows.append(row)
                print(
                    f"K={k:>4} x{steps} steps ({args.transport[0]}): ideal {ideal:7.1f}/s | bare client "
                    f"{row['bare']:6.1f}/s{typed_note} | tycoon {row['tycoon']:6.1f}/s "
                    f"= {row['tycoon_vs_bare']:.0%} of bare | CPU/step: tycoon "
                    f"{row['tycoon_cpu_ms_per_step']:.2f} ms, client "
                    f"{row['bare_cpu_ms_per_call']:.2f} ms, tycoon's own "
                    f"{row['tycoon_own_cpu_ms_per_step']:.2f} ms (env step "
                    f"{row['env_step_ms']:.2f} ms; world creation "
                    f"{row['episode_setup_cpu_ms']:.0f} ms once per episode)",
                    flush=True,
                )
                if "lean" in runs and "openai" in runs:
                    per_core = row["steps_per_core"]
                    print(
                        f"K={k:>4}: steps/s per core, lean / openai transport = "
                        f"{per_core['lean'] / per_core['openai']:.2f}x",
                        flush=True,
                    )
    finally:
        server.terminate()
        server.wait()
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
