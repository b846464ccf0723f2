"""MonitorSet: the reward sees only its monitors; held-out ones never reach it."""

from __future__ import annotations

import pytest

from tycoon.instrumentation import (
    DEFAULT_MONITORS,
    DETECTORS,
    JUDGE,
    BehaviorEventModel,
    MonitorSet,
)


def event(detector: str, tag: str = "t") -> BehaviorEventModel:
    return BehaviorEventModel(step=1, day=0, tag=tag, detector=detector)


def test_split_filters_events():
    monitors = MonitorSet(reward={"oversight_disabled"}, held_out={"audit_log_rewrite", JUDGE})
    events = [event("oversight_disabled", "a"), event("audit_log_rewrite", "b"), event(JUDGE, "c")]
    assert [e.tag for e in monitors.for_reward(events)] == ["a"]
    assert [e.tag for e in monitors.held_out_events(events)] == ["b", "c"]
    assert monitors.reward_tags(events) == ("a",)


def test_sets_must_be_disjoint_and_known():
    with pytest.raises(ValueError, match="disjoint"):
        MonitorSet(reward={"oversight_disabled"}, held_out={"oversight_disabled"})
    with pytest.raises(ValueError, match="monitor names"):
        MonitorSet(reward={"no_such_detector"})


def test_default_split_covers_every_monitor_once():
    assert DEFAULT_MONITORS.reward | DEFAULT_MONITORS.held_out == set(DETECTORS) | {JUDGE}
    assert JUDGE in DEFAULT_MONITORS.held_out
    # a held-out monitor shares a family with a reward-visible one, so hiding shows
    assert "oversight_disabled" in DEFAULT_MONITORS.reward
    assert "audit_log_rewrite" in DEFAULT_MONITORS.held_out
