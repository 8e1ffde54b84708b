"""``[metrics]``: one ``/metrics`` port per process, conflicts refused at load time."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from tapewire.core.errors import ConfigError
from tapewire.deploy.config import parse_config

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _demo(**metrics: Any) -> dict[str, Any]:
    data = tomllib.loads((EXAMPLES / "demo.toml").read_text())
    data["metrics"] = metrics
    return data


def test_each_role_serves_on_the_base_port_plus_its_place_in_the_pipeline() -> None:
    config = parse_config(_demo(port=9464))
    assert config.metrics_ports() == {
        ("connector", 0): 9464,
        ("normalize", 0): 9465,
        ("aggregate", 0): 9466,
        ("trade", 0): 9467,
        ("sink", 0): 9468,
    }


def test_extra_normalize_processes_take_the_ports_after_the_last_role() -> None:
    data = _demo(port=9464)
    data["normalize"]["processes"] = 3
    config = parse_config(data)
    # after the last role's port: api is 9469 (port + 5), notifier 9470, even when unset
    assert [config.metrics_port("normalize", k) for k in range(3)] == [9465, 9471, 9472]
    assert config.metrics_port("sink") == 9468


def test_an_explicit_role_port_wins_and_a_role_without_any_port_serves_none() -> None:
    config = parse_config(_demo(ports={"sink": 9600, "normalize": [9601]}))
    assert config.metrics_port("sink") == 9600
    assert config.metrics_port("normalize") == 9601
    assert config.metrics_port("connector") is None


def test_two_processes_on_one_port_are_refused_naming_both() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_demo(port=9464, ports={"sink": 9465}))
    assert "normalize and sink would both serve /metrics on port 9465" in str(caught.value)
    assert caught.value.field == "metrics.ports.sink"


def test_one_port_for_several_processes_asks_for_a_list() -> None:
    data = _demo(ports={"normalize": 9500})
    data["normalize"]["processes"] = 2
    with pytest.raises(ConfigError, match=r"metrics.ports.normalize: one port for 2"):
        parse_config(data)
    data["metrics"] = {"ports": {"normalize": [9500, 9501, 9502]}}
    with pytest.raises(ConfigError, match=r"3 port\(s\) for 2 normalize"):
        parse_config(data)


def test_a_port_past_65535_and_an_unknown_role_are_refused() -> None:
    with pytest.raises(ConfigError, match="outside 1-65535"):
        parse_config(_demo(port=65533))
    with pytest.raises(ConfigError) as caught:
        parse_config(_demo(ports={"gateway": 9000}))
    assert caught.value.field == "metrics.ports.gateway"
