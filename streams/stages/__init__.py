"""Stages: one module per stage, each a Kafka-free batch function over a domain core
(messages in, encoded messages out, dead letters instead of exceptions).

Both shells run these same objects: :mod:`tapewire.streams.agents` (one Faust agent per
stage) and :mod:`tapewire.streams.hotpath` (the fused loop).

May import: the domain cores, :mod:`tapewire.schemas`, :mod:`tapewire.core`. Never Kafka
clients, Faust or :mod:`tapewire.runtime`.
"""
