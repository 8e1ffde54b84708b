"""Settings: defaults, environment, config file, and errors that name the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapewire.core.errors import ConfigError
from tapewire.core.settings import load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "KAFKA_BOOTSTRAP_SERVERS",
        "SCHEMA_REGISTRY_URL",
        "CLICKHOUSE_URL",
        "TAPEWIRE_CONFIG",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_use_embedded_clickhouse_under_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.kafka_bootstrap_servers is None
    assert settings.resolved_clickhouse_url == f"chdb://{tmp_path.resolve() / 'chdb'}"
    assert settings.metrics_port == 9464


def test_unprefixed_well_known_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092,127.0.0.1:9093")
    monkeypatch.setenv("CLICKHOUSE_URL", "http://u:p@localhost:8123/tapewire")
    monkeypatch.setenv("SCHEMA_REGISTRY_URL", "http://localhost:8081/")
    settings = load_settings()
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092,127.0.0.1:9093"
    assert settings.resolved_clickhouse_url == "http://u:p@localhost:8123/tapewire"
    assert settings.schema_registry_url == "http://localhost:8081"


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(Exception, match="frozen"):
        settings.metrics_port = 1  # type: ignore[misc]


def test_password_is_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPEWIRE_SCHEMA_REGISTRY_PASSWORD", "hunter2-canary")
    settings = load_settings()
    assert "hunter2-canary" not in repr(settings)
    assert settings.schema_registry_password is not None
    assert settings.schema_registry_password.get_secret_value() == "hunter2-canary"


@pytest.mark.parametrize(
    ("env", "value", "field", "expected"),
    [
        ("TAPEWIRE_METRICS_PORT", "abc", "metrics_port", "valid integer"),
        ("TAPEWIRE_METRICS_PORT", "70000", "metrics_port", "less than or equal to 65535"),
        ("KAFKA_BOOTSTRAP_SERVERS", "localhost", "kafka_bootstrap_servers", "host:port"),
        ("CLICKHOUSE_URL", "mysql://x", "clickhouse_url", "chdb:///path/to/dir"),
        ("SCHEMA_REGISTRY_URL", "localhost:8081", "schema_registry_url", "http://"),
        ("TAPEWIRE_LOG_LEVEL", "LOUD", "log_level", "'DEBUG'"),
        ("TAPEWIRE_KAFKA_VERSION", "2.8.0", "kafka_version", "pattern"),
    ],
)
def test_bad_values_name_field_value_and_expectation(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, field: str, expected: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert caught.value.field == field
    assert caught.value.value == value
    assert field.upper() in message
    assert repr(value) in message
    assert expected in message


def test_config_file_is_read_and_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "tapewire.toml"
    config.write_text('metrics_port = 9999\nlog_level = "DEBUG"\n')
    assert load_settings(config).metrics_port == 9999
    monkeypatch.setenv("TAPEWIRE_METRICS_PORT", "9100")
    settings = load_settings(config)
    assert settings.metrics_port == 9100
    assert settings.log_level == "DEBUG"


def test_unknown_key_in_config_file_is_named(tmp_path: Path) -> None:
    config = tmp_path / "tapewire.toml"
    config.write_text("metrics_prot = 9999\n")
    with pytest.raises(ConfigError, match=r"METRICS_PROT.*not a Tapewire setting"):
        load_settings(config)


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as caught:
        load_settings(tmp_path / "nope.toml")
    assert caught.value.field == "TAPEWIRE_CONFIG"
