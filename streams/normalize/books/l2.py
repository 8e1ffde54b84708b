"""One L2 book: price -> size per side, exact decimals, no float.

Two layouts: plain dicts (cheapest updates; sorted only when a snapshot is published), or
dicts plus a sorted list of each side's prices (kept with :mod:`bisect`, all in C) for venues
that need the top of the book after every update (a checksum over the top N levels, the
crossed-book check). A sorted book may also keep each level's wire text (``wire``): a
checksum over the text as sent (OKX) then needs no decimal formatting; with ``joined`` that
text is kept as one ``price:size`` string per level, in a list in step with the sorted
prices (what OKX's checksum joins: its top levels are two slices).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from tapewire.records.market import PriceLevel
from tapewire.streams.normalize.decimals import exact, memo

ZERO = Decimal(0)
Side = dict[Decimal, Decimal]
Pairs = list[tuple[Decimal, Decimal]]
Texts = list[tuple[str, str]]
"""Levels as sent: ``(price text, size text)``, in step with the ``Pairs`` made of them."""
_RECORDS: dict[tuple[str, str], PriceLevel] = {}
"""A snapshot level as sent (non-zero size) -> its checked record: successive snapshots of
a book repeat most levels (records are immutable: one may be published many times)."""
_RECORDS_CAP = 65_536
_record_of = _RECORDS.get
_PIECE_MEMOS: dict[Any, dict[str, bytes]] = {}
"""Per checksum-text function: wire text -> its checksum text (a function of the text)."""
_PIECE_CAP = 65_536
Wire = dict[Decimal, Any]
"""Price -> its level as sent: ``(price text, size text)``, or ``"price:size"``."""


class L2Book:
    """Both sides of one instrument's book; sorted views on demand."""

    __slots__ = (
        "_ask_prices",
        "_ask_wire",
        "_bid_prices",
        "_bid_wire",
        "ask_joined",
        "ask_pieces",
        "asks",
        "bid_joined",
        "bid_pieces",
        "bids",
        "joined",
        "kept_sorted",
        "piece",
        "piece_memo",
        "wire",
    )

    def __init__(
        self,
        kept_sorted: bool = False,
        wire: bool = False,
        joined: bool = False,
        piece: Callable[[Any, Decimal], bytes] | None = None,
    ) -> None:
        self.kept_sorted = kept_sorted or wire or joined or piece is not None
        self.piece = piece
        """A value's checksum text (Kraken's): the book keeps each level's, its price's as
        first kept then its size's, joined, in ``*_pieces`` in step with the sorted
        prices (the price's text in ``_*_wire``)."""
        self.piece_memo: dict[str, bytes] = (
            _PIECE_MEMOS.setdefault(piece, {}) if piece is not None else {}
        )
        """Wire text -> its ``piece`` (shared by the books of one ``piece``; bounded)."""
        self.bid_pieces: list[bytes] = []
        self.ask_pieces: list[bytes] = []
        self.wire = wire and not joined
        """Keep each level's wire text (price -> ``(price text, size text)``)."""
        self.joined = joined
        """Keep each level's text as ``"price:size"`` in ``_*_joined`` (:meth:`top_joined`;
        not :meth:`top_texts`)."""
        self.bid_joined: list[str] = []
        """``"price:size"`` of each bid, in ``_bid_prices``' order (only when ``joined``)."""
        self.ask_joined: list[str] = []
        self._bid_wire: Wire = {}
        self._ask_wire: Wire = {}
        self.bids: Side = {}
        self.asks: Side = {}
        self._bid_prices: list[Decimal] = []
        """Bid prices, ascending (only when ``kept_sorted``)."""
        self._ask_prices: list[Decimal] = []

    def clear(self) -> None:
        """Forget every level (the book waits for a snapshot)."""
        self.bids.clear()
        self.asks.clear()
        self._bid_prices.clear()
        self._ask_prices.clear()
        self._bid_wire.clear()
        self._ask_wire.clear()
        self.bid_joined.clear()
        self.ask_joined.clear()
        self.bid_pieces.clear()
        self.ask_pieces.clear()

    def replace_texts(
        self, bid_texts: Texts, ask_texts: Texts
    ) -> tuple[list[PriceLevel] | None, list[PriceLevel] | None]:
        """Set the book to a snapshot's levels as sent, in one pass per side (checked as
        :func:`~...decimals.exact_levels` does, in its order; size 0 levels are not kept);
        on a bad level (``NormalizeError``) the book is left as it was.

        Returns each side's levels as records, best first, when the snapshot sent that side
        best first with no price twice (what venues send: the records made in the same
        pass, nothing re-sorted); None for a side that was not."""
        if not self.kept_sorted:
            # plain dicts (the common layout): nothing else to keep, and the sides' loops
            # here (no call per side); a memo hit first; ``records.append`` as written (the
            # interpreter specialises it: a bound method kept in a local costs more)
            bid_side: list[Any] = bid_texts  # tuples as typed, or lists
            bids: Side = {}
            bid_records: list[PriceLevel] = []
            last: Decimal | None = None
            bids_ordered = True
            for level in bid_side:
                try:
                    record = _record_of(level)
                except TypeError:  # a list (unhashable): not memoised
                    record = None
                if record is None:
                    record = _new_record(level)
                    if record is None:  # size 0
                        continue
                p = record.price
                if last is not None and bids_ordered:
                    bids_ordered = last > p
                last = p
                bids[p] = record.size
                bid_records.append(record)
            ask_side: list[Any] = ask_texts
            asks: Side = {}
            ask_records: list[PriceLevel] = []
            last = None
            asks_ordered = True
            for level in ask_side:
                try:
                    record = _record_of(level)
                except TypeError:
                    record = None
                if record is None:
                    record = _new_record(level)
                    if record is None:
                        continue
                p = record.price
                if last is not None and asks_ordered:
                    asks_ordered = last < p
                last = p
                asks[p] = record.size
                ask_records.append(record)
            self.bids = bids
            self.asks = asks
            return (
                bid_records if bids_ordered else None,
                ask_records if asks_ordered else None,
            )
        joined = self.joined
        wire = self.wire or joined
        bid_wire: Wire | None = {} if wire else None
        ask_wire: Wire | None = {} if wire else None
        bids, bids_as_sent = _snapshot_side(bid_texts, bid_wire, joined, True)
        asks, asks_as_sent = _snapshot_side(ask_texts, ask_wire, joined, False)
        self.bids, self.asks = bids, asks
        # ascending; a side sent best first is in order already
        self._bid_prices = list(reversed(bids)) if bids_as_sent is not None else sorted(bids)
        self._ask_prices = list(asks) if asks_as_sent is not None else sorted(asks)
        if bid_wire is not None and ask_wire is not None:
            if joined:
                self.bid_joined = list(map(bid_wire.__getitem__, self._bid_prices))
                self.ask_joined = list(map(ask_wire.__getitem__, self._ask_prices))
            else:
                self._bid_wire, self._ask_wire = bid_wire, ask_wire
        piece = self.piece
        if piece is not None:
            known = self.piece_memo
            self._bid_wire, self.bid_pieces = _pieces(bid_texts, self._bid_prices, piece, known)
            self._ask_wire, self.ask_pieces = _pieces(ask_texts, self._ask_prices, piece, known)
        return bids_as_sent, asks_as_sent

    def apply(self, bids: Pairs, asks: Pairs, bid_texts: Texts, ask_texts: Texts) -> None:
        """Apply changed levels to both sides; size 0 deletes (``*_texts``: as sent)."""
        if self.piece is not None:  # the same levels, from their text
            self.apply_texts(bid_texts, True)
            self.apply_texts(ask_texts, False)
        elif self.joined:
            _apply_joined(self.bids, self._bid_prices, self.bid_joined, bids, bid_texts)
            _apply_joined(self.asks, self._ask_prices, self.ask_joined, asks, ask_texts)
        elif self.wire:
            _apply_wire(self.bids, self._bid_prices, self._bid_wire, bids, bid_texts)
            _apply_wire(self.asks, self._ask_prices, self._ask_wire, asks, ask_texts)
        elif self.kept_sorted:
            _apply_sorted(self.bids, self._bid_prices, bids)
            _apply_sorted(self.asks, self._ask_prices, asks)
        else:
            _apply(self.bids, bids)
            _apply(self.asks, asks)

    def apply_texts(self, texts: Texts, bids: bool) -> dict[Decimal, Decimal]:
        """Apply one side's changed levels as sent, in one pass (each price and size checked
        as :func:`~...decimals.exact_levels` does, in its order; size 0 deletes); returns
        them as applied, last write per price wins. On a bad level (``NormalizeError``)
        the side is left partly applied: the caller clears the book."""
        changed: dict[Decimal, Decimal] = {}
        if not texts:
            return changed
        side = self.bids if bids else self.asks
        if not self.kept_sorted:
            for price, size in texts:
                p = memo(price) if price.__class__ is str else None
                if p is None:
                    p = exact(price, "price")
                s = memo(size) if size.__class__ is str else None
                if s is None:
                    s = exact(size, "size")
                if s:
                    side[p] = s
                else:
                    side.pop(p, None)
                changed[p] = s
            return changed
        prices = self._bid_prices if bids else self._ask_prices
        piece = self.piece
        if piece is not None:
            pieces = self.bid_pieces if bids else self.ask_pieces
            heads = self._bid_wire if bids else self._ask_wire
            known = self.piece_memo
            for price, size in texts:
                p = memo(price) if price.__class__ is str else None
                if p is None:
                    p = exact(price, "price")
                s = memo(size) if size.__class__ is str else None
                if s is None:
                    s = exact(size, "size")
                if s:
                    at = bisect_left(prices, p)
                    tail = known.get(size)  # (None for a non-text: only texts are kept)
                    if tail is None:
                        tail = _piece(known, piece, size, s)
                    head = heads.get(p)
                    if head is None:  # a new level: its price's text as now sent
                        head = known.get(price)
                        if head is None:
                            head = _piece(known, piece, price, p)
                        heads[p] = head
                        prices.insert(at, p)
                        pieces.insert(at, head + tail)
                    else:
                        pieces[at] = head + tail
                    side[p] = s
                elif p in side:
                    del side[p]
                    del heads[p]
                    at = bisect_left(prices, p)
                    del prices[at]
                    del pieces[at]
                changed[p] = s
            return changed
        if self.joined:
            texts_of = self.bid_joined if bids else self.ask_joined
            for price, size in texts:
                p = memo(price) if price.__class__ is str else None
                if p is None:
                    p = exact(price, "price")
                s = memo(size) if size.__class__ is str else None
                if s is None:
                    s = exact(size, "size")
                if s:
                    at = bisect_left(prices, p)
                    if p in side:
                        texts_of[at] = price + ":" + size
                    else:
                        prices.insert(at, p)
                        texts_of.insert(at, price + ":" + size)
                    side[p] = s
                elif p in side:
                    del side[p]
                    at = bisect_left(prices, p)
                    del prices[at]
                    del texts_of[at]
                changed[p] = s
            return changed
        wire = (self._bid_wire if bids else self._ask_wire) if self.wire else None
        for level in texts:
            price, size = level
            p = memo(price) if price.__class__ is str else None
            if p is None:
                p = exact(price, "price")
            s = memo(size) if size.__class__ is str else None
            if s is None:
                s = exact(size, "size")
            if s:
                if p not in side:
                    insort(prices, p)
                side[p] = s
                if wire is not None:
                    wire[p] = level
            elif p in side:
                del side[p]
                if wire is not None:
                    del wire[p]
                del prices[bisect_left(prices, p)]
            changed[p] = s
        return changed

    def apply_pieces(self, texts: Texts, bids: bool, depth: int | None) -> list[PriceLevel]:
        """:meth:`apply_texts` then :meth:`evict` (when ``depth`` is given) for a ``piece``
        book, one side: returns the levels as applied as records, best first (a price sent
        twice: its last write; the evicted levels with size 0), made in the same pass when
        the side was sent best first with no price twice (else as ``_records`` would)."""
        side = self.bids if bids else self.asks
        prices = self._bid_prices if bids else self._ask_prices
        pieces = self.bid_pieces if bids else self.ask_pieces
        heads = self._bid_wire if bids else self._ask_wire
        known = self.piece_memo
        piece = self.piece
        if piece is None:
            raise TypeError("apply_pieces: not a piece book")
        records: list[PriceLevel] = []
        last = None
        ordered = True
        for price, size in texts:
            p = memo(price) if price.__class__ is str else None
            if p is None:
                p = exact(price, "price")
            s = memo(size) if size.__class__ is str else None
            if s is None:
                s = exact(size, "size")
            if s:
                at = bisect_left(prices, p)
                tail = known.get(size)  # (None for a non-text: only texts are kept)
                if tail is None:
                    tail = _piece(known, piece, size, s)
                head = heads.get(p)
                if head is None:  # a new level: its price's text as now sent
                    head = known.get(price)
                    if head is None:
                        head = _piece(known, piece, price, p)
                    heads[p] = head
                    prices.insert(at, p)
                    pieces.insert(at, head + tail)
                else:
                    pieces[at] = head + tail
                side[p] = s
            elif p in side:
                del side[p]
                del heads[p]
                at = bisect_left(prices, p)
                del prices[at]
                del pieces[at]
            if ordered and last is not None and (p >= last if bids else p <= last):
                ordered = False
            last = p
            records.append(PriceLevel(price=p, size=s))
        dropped: list[Decimal] = []
        if depth is not None:
            excess = len(side) - depth
            if excess > 0:  # ascending: the worst bids first, the worst asks last
                cut = slice(None, excess) if bids else slice(-excess, None)
                dropped = prices[cut]
                del prices[cut]
                del pieces[cut]
                for p in dropped:
                    del heads[p]
                    del side[p]
                if bids:
                    dropped.reverse()  # best first
                best = dropped[0]
                if last is not None and (best >= last if bids else best <= last):
                    ordered = False  # a dropped level among the delta's: sorted below
                if ordered:
                    records += [PriceLevel(price=p, size=ZERO) for p in dropped]
        if ordered:
            return records
        changed: dict[Decimal, Decimal] = {}
        for record in records:
            changed[record.price] = record.size
        for p in dropped:
            changed[p] = ZERO
        return [PriceLevel(price=p, size=changed[p]) for p in sorted(changed, reverse=bids)]

    def evict(self, depth: int, bids: bool, changed: dict[Decimal, Decimal] | None) -> None:
        """Drop one side's worst levels beyond ``depth`` (a venue that keeps its book at a
        depth sends no delete for them); each dropped price is set to size 0 in ``changed``
        (when given: the delta's levels as applied)."""
        side = self.bids if bids else self.asks
        excess = len(side) - depth
        if excess <= 0:
            return
        if not self.kept_sorted:
            ranked = sorted(side, reverse=not bids)
            dropped = ranked[:excess]
        else:  # ascending: the worst bids first, the worst asks last
            prices = self._bid_prices if bids else self._ask_prices
            cut = slice(None, excess) if bids else slice(-excess, None)
            dropped = prices[cut]
            del prices[cut]
            if self.piece is not None:
                del (self.bid_pieces if bids else self.ask_pieces)[cut]
            elif self.joined:
                del (self.bid_joined if bids else self.ask_joined)[cut]
            if self.piece is not None or self.wire:
                heads = self._bid_wire if bids else self._ask_wire
                for p in dropped:
                    del heads[p]
        for p in dropped:
            del side[p]
            if changed is not None:
                changed[p] = ZERO

    def apply_joined(self, texts: Texts, bids: bool) -> list[PriceLevel]:
        """:meth:`apply_texts` on a ``joined`` book, returning the levels as applied as
        records, best first (last write per price wins); a lone level (what a delta
        usually sends per side) is applied here with no dict of changes."""
        if len(texts) != 1:
            changed = self.apply_texts(texts, bids)
            return [PriceLevel(price=p, size=changed[p]) for p in sorted(changed, reverse=bids)]
        ((price, size),) = texts
        p = memo(price) if price.__class__ is str else None
        if p is None:
            p = exact(price, "price")
        s = memo(size) if size.__class__ is str else None
        if s is None:
            s = exact(size, "size")
        side = self.bids if bids else self.asks
        if s:
            prices = self._bid_prices if bids else self._ask_prices
            at = bisect_left(prices, p)
            if p in side:
                (self.bid_joined if bids else self.ask_joined)[at] = price + ":" + size
            else:
                prices.insert(at, p)
                (self.bid_joined if bids else self.ask_joined).insert(at, price + ":" + size)
            side[p] = s
        elif p in side:
            del side[p]
            prices = self._bid_prices if bids else self._ask_prices
            at = bisect_left(prices, p)
            del prices[at]
            del (self.bid_joined if bids else self.ask_joined)[at]
        return [PriceLevel(price=p, size=s)]

    def sorted_bids(self, depth: int = 0) -> Pairs:
        """Bids best (highest) first; the top ``depth`` only when ``depth`` > 0."""
        bids = self.bids
        if self.kept_sorted:
            keys = self._bid_prices
            prices = keys[: -depth - 1 : -1] if depth else keys[::-1]
        else:
            prices = heapq.nlargest(depth, bids) if depth else sorted(bids, reverse=True)
        return [(p, bids[p]) for p in prices]

    def sorted_asks(self, depth: int = 0) -> Pairs:
        """Asks best (lowest) first; the top ``depth`` only when ``depth`` > 0."""
        asks = self.asks
        if self.kept_sorted:
            keys = self._ask_prices
            prices = keys[:depth] if depth else keys[:]
        else:
            prices = heapq.nsmallest(depth, asks) if depth else sorted(asks)
        return [(p, asks[p]) for p in prices]

    def top_texts(self, depth: int = 0) -> tuple[Texts, Texts]:
        """Bids and asks best first as sent (the top ``depth`` when > 0); ``wire`` only."""
        bid_keys, ask_keys = self._bid_prices, self._ask_prices
        bid_prices = bid_keys[: -depth - 1 : -1] if depth else bid_keys[::-1]
        ask_prices = ask_keys[:depth] if depth else ask_keys
        return (
            list(map(self._bid_wire.__getitem__, bid_prices)),
            list(map(self._ask_wire.__getitem__, ask_prices)),
        )

    def top_joined(self, depth: int = 0) -> tuple[list[str], list[str]]:
        """:meth:`top_texts` of a ``joined`` book: each level as ``"price:size"``."""
        bids, asks = self.bid_joined, self.ask_joined
        return (bids[: -depth - 1 : -1], asks[:depth]) if depth else (bids[::-1], asks[:])

    def crossed(self) -> bool:
        """True when the best bid is at or above the best ask (a corrupt book)."""
        bids, asks = self.bids, self.asks
        if not bids or not asks:
            return False
        if self.kept_sorted:
            return self._bid_prices[-1] >= self._ask_prices[0]
        return bool(max(bids) >= min(asks))


def _snapshot_side(
    texts: Texts, wire: Wire | None, joined: bool, descending: bool
) -> tuple[Side, list[PriceLevel] | None]:
    """One side of a snapshot as sent -> price -> size (size 0 levels not kept), and the
    kept levels as records in the order sent when that order is strictly best first
    (``descending``: bids; then no price was kept twice and the records are the side as
    published), else None; ``wire`` (when given) filled with the kept levels' text
    (``joined``: as ``"price:size"``)."""
    # one loop, a memo hit first; ``records.append`` as written (the interpreter
    # specialises it: a bound method kept in a local costs more)
    side: Side = {}
    records: list[PriceLevel] = []
    last: Decimal | None = None
    ordered = True
    as_sent: list[Any] = texts  # tuples as typed, or lists: no per-level check under mypyc
    for level in as_sent:
        try:
            record = _record_of(level)
        except TypeError:  # a list (unhashable): not memoised
            record = None
        if record is None:
            record = _new_record(level)
            if record is None:  # size 0
                continue
        p = record.price
        if last is not None and ordered:
            ordered = last > p if descending else last < p
        last = p
        side[p] = record.size
        records.append(record)
        if wire is not None:
            wire[p] = level[0] + ":" + level[1] if joined else level
    return side, records if ordered else None


def _new_record(level: Any) -> PriceLevel | None:
    """A snapshot level not in the memo, checked (as :func:`~...decimals.exact_levels`
    does, in its order) and remembered when sent as text; None for a size 0."""
    price, size = level
    p = memo(price) if price.__class__ is str else None
    if p is None:
        p = exact(price, "price")
    s = memo(size) if size.__class__ is str else None
    if s is None:
        s = exact(size, "size")
    if not s:
        return None
    record = PriceLevel(price=p, size=s)
    if price.__class__ is str and size.__class__ is str:
        if len(_RECORDS) >= _RECORDS_CAP:
            _RECORDS.clear()
        _RECORDS[(price, size)] = record
    return record


def _piece(
    known: dict[str, bytes], piece: Callable[[Any, Decimal], bytes], value: Any, d: Decimal
) -> bytes:
    """``piece(value, d)``, remembered in ``known`` when ``value`` is a wire text."""
    found = piece(value, d)
    if value.__class__ is str:
        if len(known) >= _PIECE_CAP:
            known.clear()
        known[value] = found
    return found


def _pieces(
    texts: Texts,
    prices: list[Decimal],
    piece: Callable[[Any, Decimal], bytes],
    known: dict[str, bytes],
) -> tuple[Wire, list[bytes]]:
    """A snapshot side's price texts (the first of each price kept, as the side's dict
    keeps its first key) and each kept level's joined checksum text, in ``prices``' order
    (sizes: the last, as the side keeps them; size 0 levels not kept)."""
    heads: Wire = {}
    sizes: dict[Decimal, bytes] = {}
    for price, size in texts:
        p = memo(price) if price.__class__ is str else None
        if p is None:
            p = exact(price, "price")
        s = memo(size) if size.__class__ is str else None
        if s is None:
            s = exact(size, "size")
        if s:
            if p not in heads:
                heads[p] = _piece(known, piece, price, p)
            sizes[p] = _piece(known, piece, size, s)
    return heads, [heads[p] + sizes[p] for p in prices]


def _apply(side: Side, levels: Pairs) -> None:
    for price, size in levels:
        if size:
            side[price] = size
        else:
            side.pop(price, None)


def _apply_sorted(side: Side, prices: list[Decimal], levels: Pairs) -> None:
    """As :func:`_apply`, keeping ``prices`` (the side's keys, ascending) in step."""
    for price, size in levels:
        if size:
            if price not in side:
                insort(prices, price)
            side[price] = size
        elif price in side:
            del side[price]
            del prices[bisect_left(prices, price)]


def _apply_wire(side: Side, prices: list[Decimal], wire: Wire, levels: Pairs, texts: Texts) -> None:
    """As :func:`_apply_sorted`, keeping ``wire`` (price -> its text as sent) in step."""
    for (price, size), text in zip(levels, texts, strict=True):
        if size:
            if price not in side:
                insort(prices, price)
            side[price] = size
            wire[price] = text
        elif price in side:
            del side[price]
            del wire[price]
            del prices[bisect_left(prices, price)]


def _apply_joined(
    side: Side, prices: list[Decimal], joined: list[str], levels: Pairs, texts: Texts
) -> None:
    """As :func:`_apply_sorted`, keeping ``joined`` (each price's ``"price:size"`` as sent,
    in the order of ``prices``) in step."""
    for (price, size), (price_text, size_text) in zip(levels, texts, strict=True):
        if size:
            at = bisect_left(prices, price)
            if price in side:
                joined[at] = price_text + ":" + size_text
            else:
                prices.insert(at, price)
                joined.insert(at, price_text + ":" + size_text)
            side[price] = size
        elif price in side:
            del side[price]
            at = bisect_left(prices, price)
            del prices[at]
            del joined[at]
