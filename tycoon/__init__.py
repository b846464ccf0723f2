"""tycoon: long-horizon agentic RL environments.

Importing tycoon registers its Gymnasium environments::

    import gymnasium, tycoon
    env = gymnasium.make("tycoon/VendingClassic-v0", db="runs/tycoon.db")
"""

from tycoon.registration import ENVIRONMENTS, register_environments
from tycoon.task_rows import TaskRow, tasks

register_environments()


def make(env_id: str = "tycoon/VendingClassic-v0", **kwargs):  # type: ignore[no-untyped-def]
    """`gymnasium.make` for tycoon ids (registers them first)."""
    import gymnasium

    return gymnasium.make(env_id, **kwargs)


__all__ = ["ENVIRONMENTS", "TaskRow", "make", "register_environments", "tasks"]
__version__ = "0.1.0"
