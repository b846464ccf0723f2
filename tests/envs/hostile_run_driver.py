"""Play actions on a new episode, then die by SIGKILL: a killed process amid uncommitted steps.

Usage: python hostile_run_driver.py DB DURABILITY SEED ENV_ID ACTIONS_PICKLE
The actions (any Python objects: hostile ones need not be strings) are stepped in turn;
each step's (observation, reward, terminated, truncated, invalid) goes to stdout as one
JSON line, and the episode id first. Then the process SIGKILLs itself: what its durability
had not committed is lost, as when a machine dies.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import sys

import gymnasium

import tycoon  # noqa: F401  (registers the ids)

db, durability, seed, env_id, actions_file = sys.argv[1:]
with open(actions_file, "rb") as file:
    actions = pickle.load(file)
env = gymnasium.make(env_id, db=db, durability=durability).unwrapped
env.reset(seed=int(seed))
print(json.dumps(env.episode_id), flush=True)
for action in actions:
    observation, reward, terminated, truncated, info = env.step(action)
    print(json.dumps([observation, reward, terminated, truncated, info["invalid_action"]]))
sys.stdout.flush()
os.kill(os.getpid(), signal.SIGKILL)
