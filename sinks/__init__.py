"""Sinks (installed as ``tapewire.sinks``): Kafka topics into storage (ClickHouse) and to
people (``notify``: webhooks and e-mail).

A shell layer. May import: :mod:`tapewire.runtime`, :mod:`tapewire.schemas`,
:mod:`tapewire.core`, and (``notify`` only) the pure core :mod:`tapewire.streams.notify`.
Not the other streams packages or the connectors.
"""
