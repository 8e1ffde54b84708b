"""Builders of the records and objects the tests feed the trading core.

One module per area; import the builders from it (``from tests.factories.market import book``):

* ``market``: ``md.book``, ``md.quotes``, ``md.nbbo`` and ``md.trades`` records.
* ``orders``: order requests (record and ``OrderRequest``), risk decisions, order events,
  orders to recover after a router restart.
* ``trading``: fills, positions, the risk configuration.
* ``stages``: the messages a stage takes and the records it emits.
* ``paper``: a paper venue with a book, and the check of its reports.
* ``ccxt_venue``: the ccxt venue against the loopback fake Binance.

Every builder is a plain function with keyword defaults; numbers are given as strings (or
ints or Decimals) and become Decimals; ``**changes`` sets any other field of a record by
its schema name, after the defaults.
"""

from __future__ import annotations

from decimal import Decimal

INST = "BTC-USDT-SPOT"
"""The instrument of every builder unless told otherwise."""
T0 = 1_700_000_000_000_000_000
"""The default timestamp (ns): 2023-11-14 22:13:20 UTC."""

Num = Decimal | int | str
"""A number as the builders take it (becomes a Decimal)."""


def dec(value: Num | None) -> Decimal | None:
    """``Decimal(value)``, None for None."""
    return None if value is None else Decimal(value)
