"""Shared pytest fixtures: real Kafka and real ClickHouse, resolved as the README says."""

pytest_plugins = ["tests.fixtures.kafka", "tests.fixtures.clickhouse"]
