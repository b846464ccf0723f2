"""tycoon: long-horizon agentic RL environments.

Importing tycoon registers its Gymnasium environments::

    import gymnasium, tycoon
    env = gymnasium.make("tycoon/VendingClassic-v0", db="runs/tycoon.db")
"""

import itertools as _itertools
import os as _os
import sys as _sys


def _started_as_the_command() -> bool:
    """Whether this process is the `tycoon` command (its console script, or `python -m
    tycoon.cli`), not a program that imports tycoon."""
    script = _os.path.basename(_sys.argv[0]) if _sys.argv else ""
    if script.removesuffix(".exe").removesuffix("-script.py") == "tycoon":
        return True
    argv = getattr(_sys, "orig_argv", [])
    return any(a == "-m" and b == "tycoon.cli" for a, b in _itertools.pairwise(argv))


try:
    from tycoon.registration import ENVIRONMENTS, register_environments
    from tycoon.task_rows import TaskRow, tasks

    register_environments()
except KeyboardInterrupt:
    # Ctrl-C while the command's imports load (a second or more on a busy machine): the
    # command stops as it does later on, with no traceback; a program's import raises
    if not _started_as_the_command():
        raise
    print("\ninterrupted before the command started: nothing ran", file=_sys.stderr)
    raise SystemExit(130) from None  # tycoon.cli.EXIT_INTERRUPTED (128 + SIGINT)


def make(env_id: str = "tycoon/VendingClassic-v0", **kwargs):  # type: ignore[no-untyped-def]
    """`gymnasium.make` for tycoon ids (registers them first)."""
    import gymnasium

    return gymnasium.make(env_id, **kwargs)


__all__ = ["ENVIRONMENTS", "TaskRow", "make", "register_environments", "tasks"]
__version__ = "0.1.0"
