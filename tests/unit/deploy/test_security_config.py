"""``[kafka.security]``: per-role users, passwords only from the environment, errors that
name the key, and the client settings a role process gets."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tapewire.core.errors import ConfigError
from tapewire.core.kafka import KafkaSecurity, client_config, process_security, use_security
from tapewire.deploy.config import load_config, parse_config

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SECRET = "s3cret-CANARY-value"


def _config(**security: Any) -> dict[str, Any]:
    return {"kafka": {"bootstrap": "kafka:9093", "security": security}}


def test_plaintext_by_default_means_no_client_settings() -> None:
    config = parse_config({})
    assert config.kafka.security.protocol == "PLAINTEXT"
    assert config.kafka.security.for_role("trade", {}) is None


def test_each_role_has_its_own_user_and_password_variable() -> None:
    section = parse_config(_config(protocol="SASL_SSL", users={"sink": "warehouse"})).kafka.security
    env = {"TAPEWIRE_KAFKA_PASSWORD_TRADE": SECRET, "TAPEWIRE_KAFKA_PASSWORD_SINK": "x"}
    trade = section.for_role("trade", env)
    assert trade is not None
    assert (trade.username, trade.mechanism, trade.protocol) == (
        "tapewire-trade",
        "SCRAM-SHA-512",
        "SASL_SSL",
    )
    assert trade.password is not None
    assert trade.password.get_secret_value() == SECRET
    sink = section.for_role("sink", env)
    assert sink is not None
    assert sink.username == "warehouse"
    assert SECRET not in repr(trade) + str(trade) + repr(section)


def test_patterns_name_users_and_variables() -> None:
    section = parse_config(
        _config(protocol="SASL_PLAINTEXT", username="desk-{role}", password_env="PW_{role}")
    ).kafka.security
    security = section.for_role("normalize", {"PW_normalize": SECRET})
    assert security is not None
    assert security.username == "desk-normalize"
    assert security.client_settings() == {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "desk-normalize",
        "sasl.password": SECRET,
    }


def test_a_missing_password_variable_names_the_key_and_the_variable() -> None:
    section = parse_config(_config(protocol="SASL_SSL")).kafka.security
    with pytest.raises(ConfigError) as caught:
        section.for_role("connector", {})
    assert caught.value.field == "kafka.security.password_env"
    assert caught.value.message == (
        "kafka.security.password_env: environment variable "
        "TAPEWIRE_KAFKA_PASSWORD_CONNECTOR is not set"
    )
    with pytest.raises(ConfigError, match=r"kafka\.security\.admin_password_env: environment "):
        section.admin({})


@pytest.mark.parametrize(
    ("security", "path", "message"),
    [
        ({"protocol": "SASL_SCRAM"}, "kafka.security.protocol", "Input should be"),
        ({"mechanism": "PLAIN"}, "kafka.security.mechanism", "Input should be"),
        ({"password": SECRET}, "kafka.security", "a password is never written in the file"),
        ({"admin_password": SECRET}, "kafka.security", "name the environment variable"),
        ({"password_env": "MY-PASSWORD"}, "kafka.security.password_env", "not an environment"),
        ({"users": {"risk": "r"}}, "kafka.security.users.risk", "Input should be"),
        ({"token": "x"}, "kafka.security.token", "Extra inputs are not permitted"),
    ],
)
def test_bad_keys_are_named(security: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(_config(**security), "deploy.toml")
    assert caught.value.field == path
    assert message in caught.value.message
    assert SECRET not in str(caught.value)  # the refused password is not echoed back
    assert SECRET not in repr(caught.value.value)


def test_the_ca_file_is_relative_to_the_file_and_must_exist(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    path = tmp_path / "deploy.toml"
    path.write_text('[kafka.security]\nprotocol = "SSL"\nca_file = "certs/ca.pem"\n')
    security = load_config(path).kafka.security.for_role("sink", {})
    assert security is not None
    assert security.client_settings() == {
        "security.protocol": "SSL",
        "ssl.ca.location": str(tmp_path / "certs" / "ca.pem"),
    }
    path.write_text('[kafka.security]\nprotocol = "SSL"\nca_file = "nope.pem"\n')
    with pytest.raises(ConfigError, match=r"kafka.security.ca_file: no such file") as caught:
        load_config(path).kafka.security.for_role("sink", {})
    assert caught.value.field == "kafka.security.ca_file"


def test_client_config_merges_the_process_security(caplog: pytest.LogCaptureFixture) -> None:
    previous = process_security()
    security = KafkaSecurity("SASL_SSL", "SCRAM-SHA-256", "tapewire-sink", SecretStr(SECRET))
    try:
        use_security(security)
        config = client_config("b:9093")
        assert config["sasl.username"] == "tapewire-sink"
        assert config["sasl.password"] == SECRET
        assert config["security.protocol"] == "SASL_SSL"
        assert "ssl.ca.location" not in config  # the system's CAs
        with caplog.at_level(logging.DEBUG):
            logging.getLogger("tapewire").info("security %r", security)
        assert SECRET not in caplog.text
    finally:
        use_security(previous)
    assert "sasl.password" not in client_config("b:9092")


def test_sasl_without_a_password_is_refused() -> None:
    with pytest.raises(ConfigError, match="needs a user name and a password"):
        KafkaSecurity("SASL_SSL", username="u")


def test_the_compose_example_documents_security() -> None:
    text = (EXAMPLES / "compose.toml").read_text()
    assert "# [kafka.security]" in text
    lines = text.splitlines()
    start = lines.index("# [kafka.security]")
    block = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        block.append(line.removeprefix("# "))
    parsed = tomllib.loads("\n".join(block))
    config = parse_config({"kafka": parsed["kafka"]})
    assert config.kafka.security.protocol == "SASL_SSL"
    assert config.kafka.security.password_variable("sink") == "TAPEWIRE_KAFKA_PASSWORD_SINK"
