"""Faust shell: one agent per stage, wiring the Kafka-free stages to topics
(``docs/streams.md``). The worker (app factory, run) is
:mod:`tapewire.streams.agents.app`; :mod:`~tapewire.streams.agents.registry` names the agents.

May import: the stages, the router, the domain cores, :mod:`tapewire.runtime`,
:mod:`tapewire.schemas`, :mod:`tapewire.core`. Not the other shells.
"""
