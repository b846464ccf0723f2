"""A run under durability "day" that stops mid-day and waits to be killed.

`python durability_child.py DB ACTIONS_JSON STEPS MARKER`: a new episode (seed
`durability_runs.SEED`) on the SQLite file DB plays the first STEPS actions of the JSON
list, writes its episode id to MARKER and sleeps (the test sends SIGKILL).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from durability_runs import SEED, make, with_half_done_tools


def main(db: str, actions_file: str, steps: int, marker: str) -> None:
    actions = json.loads(Path(actions_file).read_text())
    env = make(db, "day")
    env.reset(seed=SEED)
    with_half_done_tools(env)
    for action in actions[:steps]:
        env.step(action)
    Path(marker).write_text(str(env.episode_id))
    time.sleep(600)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
