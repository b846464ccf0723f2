"""A bad config is refused when the env is made, with one error naming the field, and
nothing is written (no episode starts)."""

from __future__ import annotations

import math

import gymnasium
import pytest
from sqlalchemy import func, select

import tycoon  # noqa: F401  (registers the ids)
from tycoon.envs.world.schema import Episode
from tycoon.envs.world.store import WorldStore

BAD_CONFIGS = [
    ({"max_days": 10**20}, "max_days", "less than or equal to 2147483647"),
    ({"max_days": 0}, "max_days", "greater than or equal to 1"),
    ({"max_days": math.nan}, "max_days", "finite number"),
    ({"max_steps": 2**31}, "max_steps", "less than or equal to 2147483647"),
    ({"starting_cash_cents": 10**30}, "starting_cash_cents", "less than or equal to"),
    ({"starting_cash_cents": math.inf}, "starting_cash_cents", "finite number"),
    ({"daily_fee_cents": -5}, "daily_fee_cents", "greater than or equal to 0"),
    ({"daily_fee_cents": 10**19}, "daily_fee_cents", "less than or equal to"),
    ({"max_payment_cents": 0}, "max_payment_cents", "greater than or equal to 1"),
    ({"cents_per_million_output_tokens": -1}, "cents_per_million_output_tokens", "greater"),
    ({"machine_rows": 10**9}, "machine_rows", "less than or equal to 26"),
    ({"machine_cols": 0}, "machine_cols", "greater than or equal to 1"),
    ({"small_slot_capacity": -1}, "small_slot_capacity", "greater than or equal to 1"),
    ({"large_slot_capacity": 10**12}, "large_slot_capacity", "less than or equal to 1000"),
    ({"no_such_setting": 1}, "no_such_setting", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("config", "field", "message"), BAD_CONFIGS)
def test_a_bad_config_is_refused_naming_the_field_and_starts_nothing(
    config, field, message, tmp_path
):
    db = str(tmp_path / "world.db")
    with pytest.raises(ValueError, match=message) as refused:
        gymnasium.make("tycoon/VendingYear-v0", db=db, config=config).unwrapped.reset(seed=1)
    assert field in str(refused.value)
    store = WorldStore(db)
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Episode)) == 0
    store.dispose()
