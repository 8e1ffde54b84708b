"""The live-desk example and ``[trading.ccxt.<venue>]``: live venues run by the ``router``
role, every key checked at start, errors that name the key, no secret in the file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tapewire.core.errors import ConfigError
from tapewire.deploy.acl import role_grants
from tapewire.deploy.config import load_config, parse_config
from tapewire.deploy.roles import router_spec, trade_streams
from tapewire.deploy.run import venue_index
from tapewire.runtime.kafka_security import Grant

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
LIVE = EXAMPLES / "live.toml"


def _live() -> dict[str, Any]:
    return tomllib.loads(LIVE.read_text())


def test_the_live_desk_file_loads_every_role_and_the_live_venue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = load_config(LIVE)
    assert config.roles() == (
        "connector",
        "normalize",
        "aggregate",
        "trade",
        "router",
        "sink",
        "api",
    )
    assert config.processes().count("normalize") == 3
    assert config.processes().count("router") == 1
    assert config.kafka.security.protocol == "SASL_SSL"
    assert len(config.kafka.bootstrap.split(",")) == 3  # type: ignore[union-attr]
    assert (config.kafka.topic_prefix, config.kafka.replication) == ("desk.", 3)
    assert config.clickhouse.url is not None
    assert config.clickhouse.url.startswith("https://")
    source = config.connector.source  # type: ignore[union-attr]
    assert source.kind == "ccxt"
    assert [(e.exchange, e.book_limit) for e in source.exchanges] == [  # type: ignore[union-attr]
        ("binance", 20),
        ("okx", 50),
        ("bybit", None),
    ]
    trading = config.trading
    assert trading is not None
    assert trading.paper_venues == ("okx",)
    assert trading.ccxt_venues() == ("binance",)
    assert set(trading.accounts) == {"main", "paper"}
    binance = trading.ccxt["binance"]
    assert binance.keystore == EXAMPLES / "keys.json"  # relative to the file
    assert binance.passphrase_env == "TAPEWIRE_KEYSTORE_PASSPHRASE"

    streams = trade_streams(config)
    assert streams.trading is not None
    assert streams.trading.remote_venues == frozenset({"binance"})
    assert [p.venue for p in streams.trading.paper_venues] == ["okx"]
    assert len(streams.trading.strategies) == 2

    monkeypatch.setenv("TAPEWIRE_KEYSTORE_PASSPHRASE", "not-a-real-passphrase")
    spec = router_spec(config, "kafka-1:9093")
    assert (spec.venue, spec.accounts, spec.keystore) == ("binance", ("main",), binance.keystore)
    assert spec.streams.app_id == "desk.tapewire-router-binance"
    assert spec.streams.topics.name("oms.approved") == "desk.oms.approved"
    assert spec.passphrase is not None
    assert spec.passphrase.get_secret_value() == "not-a-real-passphrase"
    assert (spec.watch_orders, spec.sandbox, spec.timeout_ms) == (True, False, 10_000)
    assert venue_index(config, "router", "binance") == 0
    # ports: the router takes one after the extra normalize processes
    assert config.metrics_port("router") == 9473


def test_the_router_needs_its_passphrase_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAPEWIRE_KEYSTORE_PASSPHRASE", raising=False)
    with pytest.raises(ConfigError) as caught:
        router_spec(load_config(LIVE), "kafka-1:9093")
    assert caught.value.field == "trading.ccxt.binance.passphrase_env"
    with pytest.raises(ConfigError) as unknown:
        venue_index(load_config(LIVE), "router", "kraken")
    assert unknown.value.field == "--venue"


def test_the_router_role_may_execute_but_never_approve() -> None:
    grants = set(role_grants(load_config(LIVE), "router"))
    user = "User:tapewire-router"
    assert Grant(user, "topic", "desk.oms.approved", "READ") in grants
    assert Grant(user, "topic", "desk.oms.events", "WRITE") in grants
    assert Grant(user, "topic", "desk.oms.fills", "WRITE") in grants
    assert Grant(user, "group", "desk.tapewire-router", "READ", prefixed=True) in grants
    assert not any(g.operation == "WRITE" and g.name == "desk.oms.approved" for g in grants)


def _ccxt(data: dict[str, Any]) -> dict[str, Any]:
    section: dict[str, Any] = data["trading"]["ccxt"]["binance"]
    return section


@pytest.mark.parametrize(
    ("change", "path", "value"),
    [
        (lambda d: _ccxt(d).update(timeout_ms=0), "trading.ccxt.binance.timeout_ms", None),
        (lambda d: _ccxt(d).update(accounts=[]), "trading.ccxt.binance.accounts", None),
        (lambda d: _ccxt(d).update(acounts=["main"]), "trading.ccxt.binance.acounts", None),
        (lambda d: _ccxt(d).pop("keystore"), "trading.ccxt.binance.keystore", None),
        (
            lambda d: _ccxt(d).update(passphrase_env="not a name"),
            "trading.ccxt.binance.passphrase_env",
            None,
        ),
        (lambda d: _ccxt(d).update(rest_url="ftp://x"), "trading.ccxt.binance.rest_url", None),
        (
            lambda d: _ccxt(d).update(poll_interval_s=0),
            "trading.ccxt.binance.poll_interval_s",
            None,
        ),
        (
            lambda d: _ccxt(d).update(accounts=["main", "ghost"]),
            "trading.ccxt.binance.accounts",
            "ghost",
        ),
        (
            lambda d: d["trading"]["ccxt"].update(okx=dict(_ccxt(d))),
            "trading.ccxt.okx",
            "okx",
        ),
        (
            lambda d: d["trading"]["ccxt"].update({"Bin ance": dict(_ccxt(d))}),
            "trading.ccxt.Bin ance",
            "Bin ance",
        ),
    ],
)
def test_a_bad_live_venue_key_names_its_path(change: Any, path: str, value: Any) -> None:
    # (the values pydantic reports under [trading.ccxt] are withheld: a mistyped key there
    # may hold a secret; the cross-checks name the venue or account)
    data = _live()
    change(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "live.toml")
    assert caught.value.field == path, caught.value
    assert path in str(caught.value)
    if value is not None:
        assert caught.value.value == value


@pytest.mark.parametrize("key", ["passphrase", "secret", "api_key"])
def test_a_secret_written_in_the_file_is_refused_and_not_repeated(key: str) -> None:
    data = _live()
    _ccxt(data)[key] = "canary-3f9a-secret-value"
    with pytest.raises(ConfigError) as caught:
        parse_config(data, "live.toml")
    assert caught.value.field == "trading.ccxt.binance"
    assert "never written in the file" in str(caught.value)
    assert "canary-3f9a" not in repr(caught.value.value) + str(caught.value)
