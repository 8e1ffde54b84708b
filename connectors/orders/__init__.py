"""Orders to real venues: :class:`~tapewire.connectors.orders.ccxt_venue.CcxtVenue` (the
router's venue protocol over ccxt's REST API) and the encrypted key store."""
