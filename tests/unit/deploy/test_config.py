"""The deployment file: every key checked at start, errors that name the key."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.core.errors import ConfigError
from tapewire.core.settings import load_settings
from tapewire.deploy.config import load_config, parse_config
from tapewire.deploy.run import run_one
from tapewire.streams.trading.strategy import CrossVenueSpread

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _demo() -> dict[str, Any]:
    return tomllib.loads((EXAMPLES / "demo.toml").read_text())


def test_the_demo_file_configures_every_role() -> None:
    config = load_config(EXAMPLES / "demo.toml")
    assert config.roles() == ("connector", "normalize", "aggregate", "trade", "sink")
    streams = config.streams_config("tapewire-trade")
    assert streams.trading is not None
    (factory,) = streams.trading.strategies
    strategy = factory()
    assert isinstance(strategy, CrossVenueSpread)
    assert strategy.config.venues == ("binance", "okx")
    assert [p.venue for p in streams.trading.paper_venues] == ["binance", "okx"]
    assert [i.name for i in streams.bars.intervals] == ["1s", "1m"]
    assert streams.depth.taker_fee_bps == {"binance": Decimal("7.5"), "okx": Decimal(8)}
    assert (streams.depth.levels, streams.depth.interval_ns) == (10, 100_000_000)


@pytest.mark.parametrize(
    ("change", "path", "value"),
    [
        (lambda d: d["kafka"].update(partitions=0), "kafka.partitions", 0),
        (lambda d: d["kafka"].update(partition=6), "kafka.partition", 6),
        (
            lambda d: d["trading"]["accounts"]["paper"].update(max_open_order=5),
            "trading.accounts.paper.max_open_order",
            5,
        ),
        (
            lambda d: d["trading"]["accounts"]["paper"].update(daily_loss_limit="-1"),
            "trading.accounts.paper.daily_loss_limit",
            "-1",
        ),
        (lambda d: d["connector"]["source"].update(rate=0), "connector.source.rate", 0),
        (lambda d: d["connector"]["source"].update(kind="pigeon"), "connector.source", None),
        (lambda d: d["aggregate"].update(bars=["1s", "7 days"]), "aggregate.bars", None),
        (lambda d: d["aggregate"].update(depth_levels=0), "aggregate.depth_levels", 0),
        (
            lambda d: d["aggregate"].update(taker_fee_bps={"okx": "-1"}),
            "aggregate.taker_fee_bps",
            None,
        ),
        (lambda d: d["trading"].update({"shell": "fast"}), "trading.shell", "fast"),
        (lambda d: d["trading"].update(accounts={}), "trading.accounts", None),
    ],
)
def test_a_bad_key_or_value_names_its_path(change: Any, path: str, value: Any) -> None:
    data = _demo()
    change(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "demo.toml")
    assert caught.value.field == path, caught.value
    assert path in str(caught.value)
    if value is not None:
        assert caught.value.value == value
    assert "docs/deployment.md" in str(caught.value)


def test_a_strategy_defined_outside_the_package_is_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "desk_strategies.py").write_text(
        "from tapewire.streams.trading.strategy import Strategy\n"
        "class Quiet(Strategy):\n"
        "    def __init__(self, strategy_id: str, account: str) -> None:\n"
        "        self.strategy_id, self.account = strategy_id, account\n"
        "class NotAStrategy:\n"
        "    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    data = _demo()
    data["trading"]["strategies"] = [
        {"class": "desk_strategies:Quiet", "params": {"strategy_id": "q1", "account": "paper"}}
    ]
    config = parse_config(data)
    assert config.trading is not None
    streams = config.streams_config("t")
    assert streams.trading is not None
    built = streams.trading.strategies[0]()
    assert (type(built).__name__, built.strategy_id) == ("Quiet", "q1")

    for spec, field, text in (
        ({"class": "desk_strategies:NotAStrategy"}, "class", "not a Strategy subclass"),
        ({"class": "no_such_module_here:X"}, "class", "cannot import"),
        ({"class": "desk_strategies:Quiet", "params": {"speed": 3}}, "params", "refused them"),
    ):
        data["trading"]["strategies"] = [spec]
        with pytest.raises(ConfigError) as caught:
            streams = parse_config(data).streams_config("t")
        assert caught.value.field == f"trading.strategies[0].{field}"
        assert text in str(caught.value)


def test_unreadable_and_invalid_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[kafka\npartitions = 3\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(bad)


def test_a_role_without_its_section_refuses_to_start(tmp_path: Path) -> None:
    path = tmp_path / "only-sink.toml"
    path.write_text('[kafka]\nbootstrap = "127.0.0.1:1"\n[sink]\n')
    assert load_config(path).roles() == ("sink",)
    with pytest.raises(ConfigError, match=r"no \[trading\] section"):
        run_one("trade", path, load_settings())
    with pytest.raises(ConfigError, match=r"no \[trading\] section"):
        run_one("router", path, load_settings())
    with pytest.raises(ConfigError, match="unknown role"):
        run_one("gateway", path, load_settings())


def test_normalize_processes_multiply_the_normalize_role_in_run_all() -> None:
    data = _demo()
    data["normalize"]["processes"] = 3
    config = parse_config(data)
    assert config.processes() == (
        "connector",
        *("normalize",) * 3,
        "aggregate",
        "trade",
        "sink",
    )
    data["normalize"]["processes"] = 0
    with pytest.raises(ConfigError, match=r"normalize\.processes"):
        parse_config(data)
