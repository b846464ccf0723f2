"""`tycoon run ARGS` under another durability: every single-agent env the run makes
commits per DURABILITY ("step", "day" or "episode") instead of every step.

Usage: python durability_driver.py DURABILITY run --env ... [--resume N]
The CLI has no durability flag (LLM runs commit every step) and an episode does not store
its durability, so a resume passes it again ("step" changes nothing). Used by
tests/kill_soak.py to kill runs whose steps are not all committed yet; it prints a line
to stderr once its imports are done.
"""

from __future__ import annotations

import functools
import sys

from tycoon.envs.vending.env import VendingEnv

READY = "durability_driver: ready"
durability = sys.argv[1]
plain_init = VendingEnv.__init__


@functools.wraps(plain_init)
def init_with_durability(self, *args, **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("durability", durability)
    plain_init(self, *args, **kwargs)


VendingEnv.__init__ = init_with_durability  # type: ignore[method-assign]

from tycoon.cli import main  # noqa: E402

# the imports are done: a kill soak times its kill from here, however slow they were
print(READY, file=sys.stderr, flush=True)
sys.exit(main(sys.argv[2:]))
