"""Observability as code: the provisioned Grafana dashboards (``dashboards``).

May import: :mod:`tapewire.core`. No Kafka, no ClickHouse client: queries are data here,
run by the tests against the real engines.
"""
