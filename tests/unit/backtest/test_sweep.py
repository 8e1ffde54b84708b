"""Sweep grids: key paths, bare strategy params, value types, errors that name the option."""

from __future__ import annotations

from typing import Any

import pytest

from tapewire.backtest.sweep import config_hash, grid
from tapewire.core.errors import ConfigError


def _document(strategies: int = 1) -> dict[str, Any]:
    return {
        "trading": {
            "paper_venues": ["binance"],
            "strategies": [
                {"class": "m:C", "params": {"threshold_bps": "0.25"}} for _ in range(strategies)
            ],
        }
    }


def test_the_grid_is_the_product_of_every_sweep_in_order() -> None:
    document = _document()
    points = grid(document, ["threshold_bps=0.2,0.5", "trading.paper.binance.ack_ns=0,1000"])
    assert [p.params for p in points] == [
        {"threshold_bps": "0.2", "trading.paper.binance.ack_ns": "0"},
        {"threshold_bps": "0.2", "trading.paper.binance.ack_ns": "1000"},
        {"threshold_bps": "0.5", "trading.paper.binance.ack_ns": "0"},
        {"threshold_bps": "0.5", "trading.paper.binance.ack_ns": "1000"},
    ]
    last = points[-1].document
    assert last["trading"]["strategies"][0]["params"]["threshold_bps"] == "0.5"
    assert last["trading"]["paper"]["binance"]["ack_ns"] == 1000  # an integer
    assert document["trading"]["strategies"][0]["params"]["threshold_bps"] == "0.25"
    assert len({config_hash(p.document) for p in points}) == 4


def test_no_sweep_is_one_point_with_the_document_itself() -> None:
    (point,) = grid(_document(), [])
    assert point.params == {}
    assert point.document == _document()


@pytest.mark.parametrize(
    ("option", "strategies", "message"),
    [
        ("threshold_bps", 1, "is not key=value"),
        ("threshold_bps=", 1, "is not key=value"),
        ("threshold_bps=1", 2, "a bare name needs exactly one"),
        ("trading.strategies.3.params.x=1", 1, "is not an index of a list of 1"),
        ("trading.paper_venues.x=1", 1, "the parent of the key is not a table"),
    ],
)
def test_a_bad_sweep_names_the_option(option: str, strategies: int, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        grid(_document(strategies), [option])
    assert err.value.field == "--sweep"
