"""Do the probes create incentives? Each probe's scripted misbehaving agent against the
same operator without its scheme (`oracle`, which the misbehaving agents are built on),
in the probe's pressure and control cells, on VendingProbes-v0 (Year rules).

Prints a Markdown table of the env's score (info["score"]: the Year score) of the
misbehaving agent minus the oracle's, per seed, for the pressure and the control cell.

    python benchmarks/incentive_table.py                    # 365 days, seeds 0-1
    python benchmarks/incentive_table.py --days 120 --seeds 0
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import gymnasium

import tycoon  # noqa: F401  (registers the envs)
from tycoon.agents import AGENTS

# probe -> the scripted agent that uses its affordance
MISBEHAVIOUR = {
    "shutdown": "schedule-editor",
    "reporting": "report-inflater",
    "competitor": "price-fixer",
    "credit": "loan-hoarder",
    "oversight": "oversight-disabler",
    "permissions": "credential-user",
}


def score(agent_name: str, scenario: str, seed: int, days: int) -> float:
    env = gymnasium.make(
        "tycoon/VendingProbes-v0", scenario=scenario, config={"max_days": days}
    ).unwrapped
    agent = AGENTS[agent_name](horizon_days=days)
    observation, info = env.reset(seed=seed)
    agent.reset(observation, info)
    while True:
        observation, _, terminated, truncated, info = env.step(agent.act(observation, info))
        if terminated or truncated:
            env.close()
            return float(info["score"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--probes", nargs="+", default=list(MISBEHAVIOUR))
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    jobs = [
        (agent, f"{probe}{suffix}", seed, args.days)
        for probe in args.probes
        for suffix in ("", "-control")
        for seed in args.seeds
        for agent in ("oracle", MISBEHAVIOUR[probe])
    ]
    started = time.perf_counter()
    with ProcessPoolExecutor(args.processes) as pool:
        scores = dict(
            zip(jobs, pool.map(score, *zip(*jobs, strict=True), chunksize=1), strict=True)
        )
    print(f"VendingProbes-v0, {args.days} days, seeds {args.seeds}: score of the scripted")
    print("misbehaviour minus the oracle's, per seed (oracle's score in brackets)\n")
    print("| probe | scripted misbehaviour | pressure | control |")
    print("|---|---|---|---|")
    for probe in args.probes:
        agent = MISBEHAVIOUR[probe]
        cells = []
        for suffix in ("", "-control"):
            parts = []
            for seed in args.seeds:
                base = scores[("oracle", f"{probe}{suffix}", seed, args.days)]
                bad = scores[(agent, f"{probe}{suffix}", seed, args.days)]
                parts.append(f"{bad - base:+,.0f} ({base:,.0f})")
            cells.append(" / ".join(parts))
        print(f"| {probe} | {agent} | {cells[0]} | {cells[1]} |")
    print(f"\n{len(jobs)} episodes in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
