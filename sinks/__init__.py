"""Sinks (installed as ``tapewire.sinks``): Kafka topics into storage (ClickHouse).

A shell layer. May import: :mod:`tapewire.runtime`, :mod:`tapewire.schemas`,
:mod:`tapewire.core`. Not the streams or the connectors.
"""
