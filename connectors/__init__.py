"""Connectors (installed as ``tapewire.connectors``): exchange connectivity.

Market data in (:mod:`~tapewire.connectors.live` over ccxt.pro, capture files and replay in
:mod:`~tapewire.connectors.capture`, the market :mod:`~tapewire.connectors.simulator`) and
orders out (:mod:`~tapewire.connectors.orders`: the ccxt venue and the key store).

A shell layer. May import: the router, the stages, the domain cores,
:mod:`tapewire.runtime`, :mod:`tapewire.schemas`, :mod:`tapewire.core`. Not the other shells.
"""
