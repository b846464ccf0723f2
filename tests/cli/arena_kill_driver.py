"""`tycoon run ARGS` that SIGKILLs itself mid-round: after its market's Nth applied action
(counted in this process) once an action lands whose round still owes other seats theirs.

Usage: python arena_kill_driver.py N run --env tycoon/VendingArena-v0 ...
A SIGKILL from outside lands wherever the run happens to be (most often between rounds);
this one lands where a resume must finish a round the kill cut short.
"""

from __future__ import annotations

import os
import signal
import sys

from tycoon.envs.arena.core import ArenaCore

applied = 0
kill_after = int(sys.argv[1])
apply = ArenaCore.apply


def apply_then_maybe_die(self, seat, action, round_order=None):  # type: ignore[no-untyped-def]
    global applied
    result = apply(self, seat, action, round_order)
    applied += 1
    if applied >= kill_after and round_order is not None:
        order = round_order[1]
        if order.index(seat) < len(order) - 1:  # seats after it in this round are owed
            os.kill(os.getpid(), signal.SIGKILL)
    return result


ArenaCore.apply = apply_then_maybe_die  # type: ignore[method-assign]

from tycoon.cli import main  # noqa: E402

sys.exit(main(sys.argv[2:]))
