"""Avro schemas for canonical events and their Confluent wire-format codec."""
