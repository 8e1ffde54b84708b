"""``tapewire demo``'s deployment file: ``examples/demo.toml`` with the run's options, and
nothing else changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapewire.cli.demo_config import EXAMPLE, write_demo_config
from tapewire.core.errors import ConfigError
from tapewire.core.settings import load_settings
from tapewire.deploy.config import load_config


@pytest.mark.parametrize(("topology", "shell"), [("fused", "hotpath"), ("agents", "agents")])
def test_the_demo_runs_examples_demo_toml_with_its_options(
    tmp_path: Path, topology: str, shell: str
) -> None:
    settings = load_settings(data_dir=tmp_path, clickhouse_url=None, metrics_port=9600)
    path, config = write_demo_config(
        settings, "127.0.0.1:1", seed=11, rate=500, max_frames=4_000, topology=topology
    )
    assert path == (tmp_path / "demo" / "demo.toml").resolve()
    assert load_config(path) == config
    assert config.kafka.bootstrap == "127.0.0.1:1"
    assert config.clickhouse.url == f"chdb://{(tmp_path / 'chdb').resolve()}"
    assert config.metrics.port == 9600
    assert config.normalize is not None
    assert config.normalize.shell == shell
    assert config.connector is not None
    source = config.connector.source
    assert (source.seed, source.rate, source.max_frames) == (11, 500, 4_000)  # type: ignore[union-attr]

    example = load_config(EXAMPLE)
    assert config.processes() == example.processes()
    assert config.trading == example.trading  # the strategy, accounts, venues: as the example
    assert config.aggregate == example.aggregate
    assert config.sink == example.sink
    assert config.kafka.partitions == example.kafka.partitions
    assert config.kafka.topic_prefix == example.kafka.topic_prefix


def test_metrics_port_0_serves_no_metrics_and_a_missing_example_is_a_clear_error(
    tmp_path: Path,
) -> None:
    settings = load_settings(data_dir=tmp_path, metrics_port=0)
    _, config = write_demo_config(
        settings, "127.0.0.1:1", seed=7, rate=2_000, max_frames=None, topology="fused"
    )
    assert config.metrics_ports() == {}
    assert config.connector is not None
    assert config.connector.source.max_frames is None  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match=r"demo's deployment file .* is missing"):
        write_demo_config(
            settings,
            "127.0.0.1:1",
            seed=7,
            rate=2_000,
            max_frames=None,
            topology="fused",
            base=tmp_path / "nowhere.toml",
        )
