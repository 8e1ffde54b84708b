"""Glue between sources and the stream topics (used by tests, benchmarks and the demo)."""
