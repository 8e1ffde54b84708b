"""The router, in one package: the stage (approved requests -> venue calls -> order events
and fills), the venue protocol with the paper venue behind it, and the restart-safe journal
and reconciliation plan (:mod:`~tapewire.streams.router.recovery`).

Both shells and ``tapewire.cli.router_main`` use it; a live venue is adapted to
:class:`~tapewire.streams.router.venue.Venue` there (``CcxtRouterVenue`` over
:mod:`tapewire.connectors.orders`).

May import: :mod:`tapewire.streams.stages`, the domain cores, :mod:`tapewire.schemas`,
:mod:`tapewire.core`. Never Kafka clients, Faust or :mod:`tapewire.runtime`.
"""
