"""The `tycoon-vending` verifiers environment (what verifiers imports for that id).

    vf-eval tycoon-vending --env.taskset.seeds 0-9 --env.taskset.max-steps 50 --model M ...

The code lives in `tycoon.integrations.verifiers`; this module only names it, the way
the environments hub lays out an environment (one module, exporting its taskset and env).
"""

from tycoon.integrations.verifiers import TycoonTaskset, TycoonVendingEnv, load_environment

__all__ = ["TycoonTaskset", "TycoonVendingEnv", "load_environment"]
