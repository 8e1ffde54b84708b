"""Bounded containers: sizes stay within the bound, recent and in-use keys are kept."""

from __future__ import annotations

import pytest

from tapewire.core.bounded import Generations, RecentKeys


def test_recent_keys_keeps_the_last_capacity_keys() -> None:
    keys: RecentKeys[int] = RecentKeys(100)
    for i in range(10_000):
        keys.add(i)
        keys.add(i)  # a known key does not move or grow
        assert len(keys) <= 100
        assert i in keys
        assert (i - 99) in keys or i < 99
    assert 9_899 not in keys
    assert 9_900 in keys


def test_generations_keep_keys_in_use_and_stay_within_twice_capacity() -> None:
    conns: Generations[str, bool] = Generations(10)
    conns["live"] = True
    for i in range(1_000):
        conns[f"gone-{i}"] = False
        assert conns.get("live") is True  # read on every step: never forgotten
        assert len(conns) <= 20
    assert "gone-0" not in conns
    assert "live" in list(conns)
    assert conns.get("gone-999") is False
    assert conns.pop("live") is True
    assert "live" not in conns


def test_capacity_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="capacity must be >= 1, got 0"):
        RecentKeys(0)
    with pytest.raises(ValueError, match="capacity must be >= 1, got 0"):
        Generations(0)
