"""Run one arena market with a stateless scripted policy: `python arena_driver.py DB SEED
[MARKET_ID]` creates the market (or resumes MARKET_ID) and plays it to the end.

The policy depends only on the seat and the seat's step count in `info`, so a resumed run
chooses exactly the actions the uninterrupted run would have chosen.
"""

from __future__ import annotations

import json
import sys

from tycoon.envs.arena import vending_arena_v0

MAX_DAYS = 6


def call(name: str, **arguments: object) -> str:
    return json.dumps({"name": name, "arguments": arguments})


def policy(agent: str, step: int) -> str:
    seat = int(agent.rsplit("_", 1)[1])
    other = 1 - seat
    plan = [
        call("search_web", query="soda"),
        call("send_email", to=f"operator{other}@vendarena.example", subject="hi", body=str(step)),
        call("read_inbox"),
        call("send_payment", to_account=f"acct-operator-{other}", amount=1.25, memo=f"s{step}"),
        call("get_storage_inventory"),
        call("wait_for_next_day"),
    ]
    return plan[step % len(plan)]


def main() -> None:
    db, seed = sys.argv[1], int(sys.argv[2])
    env = vending_arena_v0.env(num_operators=2, max_days=MAX_DAYS, db=db)
    if len(sys.argv) > 3:
        env.reset(options={"market_id": int(sys.argv[3])})
    else:
        env.reset(seed=seed)
    for agent in env.agent_iter():
        _obs, _reward, terminated, truncated, info = env.last()
        if terminated or truncated:
            env.step(None)
            continue
        env.step(policy(agent, int(info["step"])))
    print(env.market_id, env.state_hash())
    env.close()


if __name__ == "__main__":
    main()
