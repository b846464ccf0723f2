"""Per-step overhead each framework adapter adds over a bare tycoon step.

Prints, does not assert. The same cheap action (`get_balance`, one SQL commit) is timed
(`time.perf_counter_ns`, medians after warm-up) on a SQLite file:

- bare: `env.step` of the Gymnasium env, in process.
- openenv-ws: a `call_tool` step through openenv-core's `GenericEnvClient` over the
  WebSocket of a `tycoon env-server` subprocess (one session, env kept open).
- openenv-http: a stateless `POST /step` with the episode id (the server opens the
  episode from the database on every request).
- skyrl: `TycoonTextEnv.step` (SkyRL-gym's BaseTextEnv) with the tool call as text.
- inspect: `inspect eval tycoon/vending` against the loopback OpenAI server (zero delay,
  always `get_balance`), per step = (wall time at 220 steps - at 20 steps) / 200, so start
  up is left out; compared with `tycoon run --agent openai` measured the same way (the
  model round trip is in both, so the difference is what inspect adds).
- verifiers: `vf-eval tycoon-vending` the same way (step caps 4 and 154): each turn is
  verifiers' chat harness (a uv-script subprocess) calling the model through verifiers'
  interception proxy, then an MCP call to the rollout's tool server.
- trl: examples/trl_grpo.py's rollout function with a stub generator (no model: the same
  call every turn) over the env-server's WebSocket, per turn = (wall at 60 turns - at 10)
  / 50; it re-renders the chat template every turn, so this grows with the episode.

Each framework is measured only in a venv where it is installed; run the script with
each integration venv's python (`.ci/integrations.sh` makes them):

    python benchmarks/bench_integrations.py --steps 300
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import gymnasium

import tycoon

ROOT = Path(__file__).resolve().parents[1]
ACTION = {"name": "get_balance", "arguments": {}}


def median_ms(step: Callable[[], object], steps: int, warmup: int = 20) -> float:
    for _ in range(warmup):
        step()
    samples = []
    for _ in range(steps):
        start = time.perf_counter_ns()
        step()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1e6


def bare(tmp: Path, steps: int) -> float:
    env = gymnasium.make("tycoon/VendingClassic-v0", db=str(tmp / "bare.db"))
    env.reset(seed=0)
    try:
        return median_ms(lambda: env.step(ACTION), steps)
    finally:
        env.close()


def openenv(tmp: Path, steps: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "tests" / "integrations"))
    from openenv.core import GenericEnvClient
    from servers import EnvServer

    server = EnvServer(str(tmp / "served.db"), tmp / "server.log")
    try:
        client = GenericEnvClient(base_url=server.url).sync()
        client.connect()
        reset = client.reset(seed=0)
        action = {"type": "call_tool", "tool_name": "get_balance", "arguments": {}}
        ws = median_ms(lambda: client.step(action), steps)
        client.close()
        episode_id = reset.observation["episode_id"]
        body = json.dumps({"action": action, "episode_id": episode_id}).encode()

        def http_step() -> None:
            request = urllib.request.Request(
                f"{server.url}/step", data=body, headers={"content-type": "application/json"}
            )
            with urllib.request.urlopen(request) as response:
                response.read()

        http = median_ms(http_step, steps)
    finally:
        server.stop()
    return {"openenv-ws": ws, "openenv-http": http}


def skyrl(tmp: Path, steps: int) -> dict[str, float]:
    from tycoon.integrations.skyrl import TycoonTextEnv

    row = tycoon.tasks(seeds=[0])[0]
    env = TycoonTextEnv({}, {"extra_info": {**row.record(), "db": str(tmp / "skyrl.db")}})
    env.init(row.prompt())
    text = json.dumps(ACTION)
    try:
        return {"skyrl": median_ms(lambda: env.step(text), steps)}
    finally:
        env.close()


def _per_step_s(
    command: Callable[[int], list[str]], steps: tuple[int, int], env: dict[str, str]
) -> float:
    walls = []
    for count in steps:
        start = time.perf_counter()
        subprocess.run(command(count), check=True, capture_output=True, env=env, timeout=600)
        walls.append(time.perf_counter() - start)
    return (walls[1] - walls[0]) / (steps[1] - steps[0])


def inspect(tmp: Path, _steps: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "tests"))
    from openai_server import FakeOpenAIServer

    bin_dir = Path(sys.executable).parent
    counts = (20, 220)
    with FakeOpenAIServer(record=False) as llm:
        env = {**os.environ, "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "x"}
        inspect_step = _per_step_s(
            lambda n: [
                str(bin_dir / "inspect"), "eval", "tycoon/vending", "--model", "openai/fake",
                "-M", "responses_api=false", "--log-dir", str(tmp / "logs"),
                "--display", "none", "-T", f"db={tmp / 'inspect.db'}", "-T", f"max_steps={n}",
            ],
            counts, env,
        )  # fmt: skip
        run_step = _per_step_s(
            lambda n: [
                str(bin_dir / "tycoon"), "run", "--agent", "openai", "--model", "fake",
                "--base-url", llm.base_url, "--db", str(tmp / "run.db"), "--no-progress",
                "--max-steps", str(n),
            ],
            counts, env,
        )  # fmt: skip
    return {"tycoon-run-llm": run_step * 1000, "inspect": inspect_step * 1000}


def _tycoon_run_step_ms(tmp: Path, llm: object, counts: tuple[int, int]) -> float:
    bin_dir = Path(sys.executable).parent
    return 1000 * _per_step_s(
        lambda n: [
            str(bin_dir / "tycoon"), "run", "--agent", "openai", "--model", "fake",
            "--base-url", llm.base_url, "--db", str(tmp / f"run{n}.db"), "--no-progress",
            "--max-steps", str(n),
        ],
        counts, {**os.environ, "OPENAI_API_KEY": "x"},
    )  # fmt: skip


def verifiers(tmp: Path, _steps: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "tests"))
    from openai_server import FakeOpenAIServer

    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "OPENAI_API_KEY": "x"}
    counts = (4, 154)
    with FakeOpenAIServer(record=False) as llm:
        vf_step = _per_step_s(
            lambda n: [
                str(bin_dir / "vf-eval"), "tycoon-vending", "--env.taskset.max-steps", str(n),
                "--env.taskset.db", str(tmp / f"vf{n}.db"), "--model", "fake",
                "--client.base-url", llm.base_url, "--client.api-key-var", "OPENAI_API_KEY",
                "--no-push", "--no-rich", "-o", str(tmp / "vf-out"),
            ],
            counts, env,
        )  # fmt: skip
        run_step = _tycoon_run_step_ms(tmp, llm, counts)
    return {"tycoon-run-llm": run_step, "verifiers": vf_step * 1000}


def trl(tmp: Path, _steps: int) -> dict[str, float]:
    import importlib.util as util

    sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "integrations" / "with_trl")]
    sys.path.insert(0, str(ROOT / "tests" / "integrations"))
    from servers import EnvServer
    from tiny_policy import byte_tokenizer, stub_generator

    spec = util.spec_from_file_location("trl_grpo", ROOT / "examples" / "trl_grpo.py")
    example = util.module_from_spec(spec)
    sys.modules["trl_grpo"] = example
    spec.loader.exec_module(example)
    tokenizer = byte_tokenizer()
    server = EnvServer(str(tmp / "trl.db"), tmp / "trl-server.log")
    try:
        prompts, seeds = example.task_prompts("tycoon/VendingClassic-v0", None, "0")
        walls = []
        for turns in (10, 60):
            generate = stub_generator(tokenizer, [], script=[("get_balance", {})])
            rollout = example.TycoonRollout(
                server.url, tokenizer, seeds, generate=generate, num_generations=1,
                max_turns=turns, max_completion_length=10**9,
            )  # fmt: skip
            start = time.perf_counter()
            rollout(prompts, trainer=None)
            walls.append(time.perf_counter() - start)
    finally:
        server.stop()
    return {"trl-rollout": 1000 * (walls[1] - walls[0]) / 50}


FRAMEWORKS: dict[str, tuple[str, Callable[[Path, int], dict[str, float]]]] = {
    "openenv": ("openenv", openenv),
    "skyrl": ("skyrl_gym", skyrl),
    "inspect": ("inspect_ai", inspect),
    "verifiers": ("verifiers", verifiers),
    "trl": ("trl", trl),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        base = bare(tmp, args.steps)
        print(f"{'path':<14} {'median ms/step':>15} {'overhead ms':>12}")
        print(f"{'bare':<14} {base:>15.2f} {'-':>12}")
        for name, (module, measure) in FRAMEWORKS.items():
            if importlib.util.find_spec(module) is None:
                print(f"{name:<14} {'(not installed in this venv)':>28}")
                continue
            for label, value in measure(tmp, args.steps).items():
                print(f"{label:<14} {value:>15.2f} {value - base:>12.2f}")


if __name__ == "__main__":
    main()
