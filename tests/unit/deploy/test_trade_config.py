"""The trade role in the deployment file: shards of accounts, a co-located connector, and
the hot path as the only trade shell; every error names its key."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tapewire.core.errors import ConfigError
from tapewire.core.settings import load_settings
from tapewire.deploy.acl import role_grants
from tapewire.deploy.config import parse_config
from tapewire.deploy.roles import run_connector, trade_streams

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SPREAD = "tapewire.streams.trading.strategy:CrossVenueSpread"


def _demo() -> dict[str, Any]:
    return tomllib.loads((EXAMPLES / "demo.toml").read_text())


def _sharded() -> dict[str, Any]:
    data = _demo()
    trading = data["trading"]
    paper = trading["accounts"]["paper"]
    trading["accounts"]["desk"] = dict(paper)
    (strategy,) = trading.pop("strategies")
    desk = dict(strategy, params=dict(strategy["params"], account="desk"))
    trading["shards"] = [
        {"name": "a", "accounts": ["paper"], "strategies": [strategy]},
        {"name": "b", "accounts": ["desk"], "strategies": [desk]},
    ]
    return data


def test_two_shards_run_two_trade_processes_each_with_its_accounts_and_strategies() -> None:
    config = parse_config(_sharded())
    assert config.processes().count("trade") == 2
    assert config.metrics_port("trade", 0) != config.metrics_port("trade", 1)
    for replica, (name, account) in enumerate((("a", "paper"), ("b", "desk"))):
        streams = trade_streams(config, replica)
        assert streams.app_id == f"tapewire-trade-{name}"  # its own consumer group
        trading = streams.trading
        assert trading is not None
        assert trading.shard is not None
        assert trading.shard.name == name
        assert set(trading.risk.accounts) == {account}
        (factory,) = trading.strategies
        assert factory().account == account
        # the shards' paper venues of one name give out ids that never collide
        assert [p.id_head for p in trading.paper_venues] == [f"binance-{name}", f"okx-{name}"]
    first = trade_streams(config, 0).trading
    assert first is not None
    assert first.shard is not None
    assert first.shard.default


def test_without_shards_one_trade_process_owns_every_account() -> None:
    config = parse_config(_demo())
    assert config.processes().count("trade") == 1
    streams = trade_streams(config)
    assert streams.app_id == "tapewire-trade"
    assert streams.trading is not None
    assert streams.trading.shard is None


@pytest.mark.parametrize(
    ("change", "path", "value"),
    [
        (
            lambda t: t["shards"][1].update(accounts=["paper"]),
            "trading.shards[1].accounts",
            "paper",
        ),
        (lambda t: t["shards"][1].update(name="a"), "trading.shards[1].name", "a"),
        (
            lambda t: t["shards"][0].update(accounts=["ghost"]),
            "trading.shards[0].accounts",
            "ghost",
        ),
        (lambda t: t["shards"].pop(), "trading.shards", ["desk"]),
        (
            lambda t: t.update(strategies=[{"class": SPREAD, "params": {}}]),
            "trading.strategies",
            None,
        ),
        (
            lambda t: [s.update(colocate_connector=True) for s in t["shards"]],
            "trading.shards.colocate_connector",
            ["a", "b"],
        ),
        (lambda t: t.update(colocate_connector=True), "trading.colocate_connector", None),
        (lambda t: t["shards"][0].update(name="a b"), "trading.shards.0.name", None),
        (lambda t: t.update({"shell": "agents"}), "trading.shell", "agents"),
    ],
)
def test_a_bad_shard_key_is_refused_by_its_path(change: Any, path: str, value: Any) -> None:
    data = _sharded()
    change(data["trading"])
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "desk.toml")
    assert caught.value.field == path, caught.value
    assert path in str(caught.value)
    if value is not None:
        assert caught.value.value == value


def test_a_strategy_param_error_names_its_shard() -> None:
    data = _sharded()
    data["trading"]["shards"][1]["strategies"][0]["params"]["bogus"] = 1
    config = parse_config(data)
    assert config.trading is not None
    with pytest.raises(ConfigError) as caught:
        trade_streams(config, 1)
    assert caught.value.field == "trading.shards[1].strategies[0].params"


def test_the_agents_shell_is_refused_for_trade_with_the_reason() -> None:
    data = _demo()
    data["trading"]["shell"] = "agents"
    with pytest.raises(ConfigError, match="restored after a restart"):
        parse_config(data)


def test_a_colocated_connector_runs_in_the_trade_process_and_nowhere_else() -> None:
    data = _demo()
    data["trading"]["colocate_connector"] = True
    config = parse_config(data)
    assert "connector" not in config.processes()
    assert config.trading is not None
    assert config.trading.hosts_connector(0)
    with pytest.raises(ConfigError) as caught:
        run_connector(config, load_settings(), "127.0.0.1:1", None)  # type: ignore[arg-type]
    assert caught.value.field == "trading.colocate_connector"
    # the trade user may then write md.raw (and md.markets); without it, it may not
    writes = {g.name for g in role_grants(config, "trade") if g.operation == "WRITE"}
    assert {"md.raw", "md.markets"} <= writes
    plain = {g.name for g in role_grants(parse_config(_demo()), "trade") if g.operation == "WRITE"}
    assert "md.raw" not in plain


def test_a_colocated_connector_needs_a_connector_section() -> None:
    data = _demo()
    data["trading"]["colocate_connector"] = True
    del data["connector"]
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert caught.value.field == "trading.colocate_connector"


def test_a_sharded_process_is_chosen_by_shard_name() -> None:
    from tapewire.deploy.run import shard_index

    config = parse_config(_sharded())
    assert shard_index(config, "trade", "b") == 1
    with pytest.raises(ConfigError) as caught:
        shard_index(config, "trade", "c")
    assert caught.value.field == "--shard"


def test_run_all_starts_one_trade_process_per_shard_each_with_its_replica() -> None:
    from tapewire.deploy.supervisor import Supervisor

    config = parse_config(_sharded())
    supervisor = Supervisor(Path("desk.toml"), config.processes(), "127.0.0.1:9092")
    trade = [c for c in supervisor.children if c.role == "trade"]
    assert [c.name for c in trade] == ["trade-0", "trade-1"]
    for replica, child in enumerate(trade):
        command = supervisor.command(child)
        assert command[command.index("--replica") + 1] == str(replica)
