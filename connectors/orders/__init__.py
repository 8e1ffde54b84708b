"""Orders to real venues: :class:`~tapewire.connectors.orders.ccxt_venue.CcxtVenue` (order
entry, status and reconciliation over ccxt's REST API; ``tapewire.cli.router_main`` adapts it
to the router's :class:`~tapewire.streams.router.venue.Venue` protocol) and the encrypted key
store.

Part of the connectors shell (may import :mod:`tapewire.connectors.live`'s rate limiter, the
domain cores, :mod:`tapewire.schemas` and :mod:`tapewire.core`).
"""
