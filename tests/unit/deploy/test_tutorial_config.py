"""The tutorial's deployment file: its strategy found through ``strategy_path`` (outside the
package), and the paper venues' fee and latency models."""

from __future__ import annotations

import sys
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from tapewire.core.errors import ConfigError
from tapewire.deploy.config import load_config, parse_config
from tapewire.streams.execution.matching import QueueModel

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_the_tutorial_strategy_loads_from_the_strategy_path() -> None:
    config = load_config(EXAMPLES / "tutorial.toml")
    assert config.trading is not None
    assert config.trading.strategy_path == (EXAMPLES / "strategies",)
    assert str(EXAMPLES / "strategies") in sys.path
    streams = config.streams_config("tapewire-trade")
    assert streams.trading is not None
    (factory,) = streams.trading.strategies
    strategy = factory()
    assert type(strategy).__module__ == "mean_reversion"  # not under tapewire
    assert strategy.strategy_id == "meanrev"


def test_paper_venue_models_reach_the_paper_configs() -> None:
    streams = load_config(EXAMPLES / "tutorial.toml").streams_config("tapewire-trade")
    assert streams.trading is not None
    binance, okx = streams.trading.paper_venues
    assert (binance.venue, okx.venue) == ("binance", "okx")
    assert binance.fees.taker_bps == Decimal(1)
    assert okx.fees.maker_bps == Decimal("0.8")
    assert binance.latency.ack_ns == 2_000_000
    assert binance.latency.ack_jitter_ns == 1_000_000
    assert okx.latency.ack_ns == 3_000_000
    assert binance.queue_model is QueueModel.THROUGH


def test_a_model_for_a_venue_not_traded_on_is_refused() -> None:
    data = tomllib.loads((EXAMPLES / "tutorial.toml").read_text())
    data["trading"]["paper"]["kraken"] = {"taker_bps": "2"}
    with pytest.raises(ConfigError, match=r"not in paper_venues") as err:
        parse_config(data)
    assert err.value.field == "trading"


def test_a_missing_strategy_module_names_the_key(tmp_path: Path) -> None:
    text = (EXAMPLES / "tutorial.toml").read_text()
    (tmp_path / "t.toml").write_text(text.replace("mean_reversion:", "no_such_module:"))
    with pytest.raises(ConfigError, match=r"cannot import no_such_module") as err:
        load_config(tmp_path / "t.toml")
    assert err.value.field == "trading.strategies[0].class"
