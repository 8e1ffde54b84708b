"""Sinks that move Kafka topics into storage."""
