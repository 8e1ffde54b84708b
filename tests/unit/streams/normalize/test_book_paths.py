"""The book synchroniser's shortcuts against plain models of what they replace: a snapshot
side sent best first published as the records made in its one pass (any other order, a
price twice, size 0 levels: the sorted side), a snapshot level seen before taking its
memoised record, the ``joined`` book (OKX's checksum over ``price:size`` texts kept in lists
in step with the sorted prices) against the book keeping ``(price, size)`` tuples (its
deltas applied by :meth:`L2Book.apply_joined` too: records as applied), and
:func:`okx_checksum_joined` and :func:`okx_checksum_book` against :func:`okx_checksum_text`."""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal

import pytest

from tapewire.records.market import BookUpdate, PriceLevel
from tapewire.streams.normalize.books.l2 import L2Book
from tapewire.streams.normalize.books.sync import BookSync, _records
from tapewire.streams.normalize.mappers.base import Mapper
from tapewire.streams.normalize.mappers.bitget import BitgetMapper
from tapewire.streams.normalize.mappers.common import (
    kraken_checksum_text,
    okx_checksum_book,
    okx_checksum_joined,
    okx_checksum_text,
)
from tapewire.streams.normalize.mappers.cryptocom import CryptocomMapper
from tapewire.streams.normalize.mappers.events import BookEvent
from tapewire.streams.normalize.mappers.okx import OkxMapper

PRICES = ["100", "100.0", "100.5", "101", "99.25", "99.250", "98", "102.75", "97", "1E+2", "103"]
SIZES = ["0", "0.0", "1", "2.50", "0.001", "3", "1E-3"]


def _side(rng: random.Random, bids: bool) -> list[tuple[str, str]]:
    """Levels as a venue might send them: mostly best first, sometimes shuffled, with
    repeated prices (also as other text) and size 0 levels."""
    n = rng.randrange(0, 9)
    levels = [(rng.choice(PRICES), rng.choice(SIZES)) for _ in range(n)]
    if rng.random() < 0.6:
        levels.sort(key=lambda lv: Decimal(lv[0]), reverse=bids)
    return levels


def _text(
    levels: Sequence[PriceLevel] | Sequence[tuple[Decimal, Decimal]],
) -> list[tuple[str, str]]:
    """Levels as text: the decimals' exponents compared too (``100`` is not ``100.0``)."""
    return [
        (str(lv.price), str(lv.size)) if isinstance(lv, PriceLevel) else (str(lv[0]), str(lv[1]))
        for lv in levels
    ]


def _model(levels: list[tuple[str, str]], bids: bool) -> list[PriceLevel]:
    """The side as published before the shortcut: a dict (first key, last size), sorted."""
    side: dict[Decimal, Decimal] = {}
    for price, size in levels:
        if Decimal(size):
            side[Decimal(price)] = Decimal(size)
    return [PriceLevel(price=p, size=side[p]) for p in sorted(side, reverse=bids)]


@pytest.mark.parametrize("kept_sorted", [False, True])
def test_snapshot_records_are_the_sorted_side(kept_sorted: bool) -> None:
    rng = random.Random(f"snapshot-records-{kept_sorted}")
    book = L2Book(kept_sorted)
    shortcuts = 0
    for _ in range(3_000):
        bids, asks = _side(rng, True), _side(rng, False)
        bid_records, ask_records = book.replace_texts(bids, asks)
        shortcuts += (bid_records is not None) + (ask_records is not None)
        published = (
            bid_records
            if bid_records is not None
            else [PriceLevel(price=p, size=s) for p, s in book.sorted_bids()],
            ask_records
            if ask_records is not None
            else [PriceLevel(price=p, size=s) for p, s in book.sorted_asks()],
        )
        assert published == (_model(bids, True), _model(asks, False)), (bids, asks)
        assert list(map(_text, published)) == [
            _text(_model(bids, True)),
            _text(_model(asks, False)),
        ]
        assert book.sorted_bids() == [(r.price, r.size) for r in _model(bids, True)]
        assert book.sorted_asks() == [(r.price, r.size) for r in _model(asks, False)]
    assert shortcuts > 1_000


def test_joined_book_keeps_the_texts_of_the_tuple_book() -> None:
    rng = random.Random("joined-book")
    joined, tuples = L2Book(wire=True, joined=True), L2Book(wire=True)
    records = L2Book(wire=True, joined=True)  # deltas by apply_joined
    for step in range(4_000):
        if step % 200 == 0:
            bids, asks = _side(rng, True), _side(rng, False)
            joined.replace_texts(bids, asks)
            tuples.replace_texts(bids, asks)
            records.replace_texts(bids, asks)
        else:
            for is_bid in (True, False):
                change = [(rng.choice(PRICES), rng.choice(SIZES)) for _ in range(rng.randrange(3))]
                changed = tuples.apply_texts(change, is_bid)
                assert joined.apply_texts(change, is_bid) == changed
                applied = records.apply_joined(change, is_bid)
                want_records = [
                    PriceLevel(price=p, size=changed[p]) for p in sorted(changed, reverse=is_bid)
                ]
                assert applied == want_records
                assert _text(applied) == _text(want_records)
        assert (records.bid_joined, records.ask_joined) == (joined.bid_joined, joined.ask_joined)
        for depth in (0, 3, 25):
            bid_texts, ask_texts = tuples.top_texts(depth)
            want = ([f"{p}:{s}" for p, s in bid_texts], [f"{p}:{s}" for p, s in ask_texts])
            assert joined.top_joined(depth) == want
            assert okx_checksum_joined(*want) == okx_checksum_text(bid_texts, ask_texts)
        assert okx_checksum_book(joined.bid_joined, joined.ask_joined) == okx_checksum_text(
            *tuples.top_texts(25)
        )
        assert _text(joined.sorted_bids()) == _text(tuples.sorted_bids())
        assert _text(joined.sorted_asks()) == _text(tuples.sorted_asks())


@pytest.mark.parametrize("depth", [None, 2, 4])
def test_apply_pieces_is_apply_texts_evict_and_records(depth: int | None) -> None:
    rng = random.Random(f"apply-pieces-{depth}")
    pieces = L2Book(piece=kraken_checksum_text)
    texts = L2Book(piece=kraken_checksum_text)
    shortcuts = 0
    for step in range(4_000):
        if step % 200 == 0:
            bids, asks = _side(rng, True), _side(rng, False)
            pieces.replace_texts(bids, asks)
            texts.replace_texts(bids, asks)
            if depth is not None:
                for book in (pieces, texts):
                    book.evict(depth, True, None)
                    book.evict(depth, False, None)
            continue
        for is_bid in (True, False):
            change = _side(rng, is_bid)[:3]
            if not change:
                continue
            got = pieces.apply_pieces(change, is_bid, depth)
            changed = texts.apply_texts(change, is_bid)
            if depth is not None:
                texts.evict(depth, is_bid, changed)
            want = _records(changed, is_bid)
            shortcuts += len(got) > 1
            assert got == want, (change, is_bid)
            assert _text(got) == _text(want)
        assert pieces.bid_pieces == texts.bid_pieces
        assert pieces.ask_pieces == texts.ask_pieces
        assert _text(pieces.sorted_bids()) == _text(texts.sorted_bids())
        assert _text(pieces.sorted_asks()) == _text(texts.sorted_asks())
    assert shortcuts > 500


@pytest.mark.parametrize(
    ("n_bids", "n_asks"),
    [(0, 0), (0, 4), (4, 0), (3, 5), (5, 3), (25, 25), (40, 30), (30, 40), (30, 20), (20, 30)],
)
def test_okx_checksum_joined_matches_the_tuples(n_bids: int, n_asks: int) -> None:
    bids = [(f"{3366 - i}.1", f"{i + 1}") for i in range(n_bids)]
    asks = [(f"{3367 + i}.10", "0.00000001") for i in range(n_asks)]
    joined = ([f"{p}:{s}" for p, s in bids], [f"{p}:{s}" for p, s in asks])
    assert okx_checksum_joined(*joined) == okx_checksum_text(bids, asks)
    # as a joined book keeps the sides: bids ascending (best last)
    assert okx_checksum_book(joined[0][::-1], joined[1]) == okx_checksum_text(bids, asks)


@pytest.mark.parametrize("mapper", [CryptocomMapper, BitgetMapper, OkxMapper])
def test_synchroniser_publishes_the_model_book(mapper: type[Mapper]) -> None:
    # snapshots and deltas through the venue's synchroniser (checksums left out: None): each
    # published snapshot is the model's sorted side, each delta leaves the model's book
    rng = random.Random(f"sync-{mapper.__name__}")
    sync = BookSync(mapper.spec, clock=lambda: 1)
    model: dict[bool, dict[Decimal, Decimal]] = {True: {}, False: {}}
    for step in range(2_000):
        out: list[BookUpdate] = []
        seq = step + 1
        if step % 50 == 0:
            bids, asks = _side(rng, True), _side(rng, False)
            event = BookEvent("X", True, bids, asks, 1, None, seq, None, None, None)
            sync.apply(event, "c", step, False, out, [])
            assert _text(out[0].bids) == _text(_model(bids, True))
            assert _text(out[0].asks) == _text(_model(asks, False))
            for is_bid, levels in ((True, bids), (False, asks)):
                model[is_bid] = {r.price: r.size for r in _model(levels, is_bid)}
        else:
            bids = [(rng.choice(PRICES), rng.choice(SIZES)) for _ in range(rng.randrange(3))]
            asks = [(rng.choice(PRICES), rng.choice(SIZES)) for _ in range(rng.randrange(3))]
            event = BookEvent("X", False, bids, asks, 1, None, seq, seq - 1, None, None)
            sync.apply(event, "c", step, False, out, [])
            for is_bid, levels in ((True, bids), (False, asks)):
                for price, size in levels:
                    if Decimal(size):
                        model[is_bid][Decimal(price)] = Decimal(size)
                    else:
                        model[is_bid].pop(Decimal(price), None)
        kept = sync.books["X"].levels
        assert _text(kept.sorted_bids()) == _text(sorted(model[True].items(), reverse=True))
        assert _text(kept.sorted_asks()) == _text(sorted(model[False].items()))


def test_snapshot_levels_as_lists_take_the_same_path_as_tuples() -> None:
    # a level that is a list (unhashable) is not memoised: the same book and records
    bids = [("101", "1"), ("100.5", "2.50")]
    asks = [("102.75", "3"), ("103", "0.001")]
    as_tuples, as_lists = L2Book(), L2Book()
    for _ in range(2):  # the second time the tuples' records come from the memo
        want = as_tuples.replace_texts(bids, asks)
        got = as_lists.replace_texts(
            [list(lv) for lv in bids],  # type: ignore[misc]
            [list(lv) for lv in asks],  # type: ignore[misc]
        )
        assert got == want
        assert want[0] is not None
        assert _text(want[0]) == [("101", "1"), ("100.5", "2.50")]
        assert as_lists.sorted_bids() == as_tuples.sorted_bids()
