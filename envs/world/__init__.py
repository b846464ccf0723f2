"""World state in SQL: the schema, the store, fork and state hash."""

from tycoon.envs.world.schema import Base
from tycoon.envs.world.store import StoreError, WorldStore, database_url, make_engine

__all__ = ["Base", "StoreError", "WorldStore", "database_url", "make_engine"]
