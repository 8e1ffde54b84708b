"""Market metadata from what ccxt really fetched (issue 9): ccxt's ``load_markets`` requests
are answered by full URL (path + sorted query) from the captured REST frames, with no
per-venue list of paths; an uncaptured request names its URL; a REST frame that is not a
valid market response is a dead letter and never replaces a good one (neither in the
normalizer nor in ``md.markets``).

Frames: the real OKX SPOT instruments response and the real Binance ``exchangeInfo``
(``tests/data/real``), and the documentation-derived OKX SWAP and OPTION instruments
responses (``tests/data/frames/okx/instruments.jsonl``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tapewire.connectors.markets import is_venue_metadata
from tapewire.schemas.codec import Codec
from tapewire.streams.normalize import NormalizeError, Normalizer
from tapewire.streams.stages.base import InMsg, OutMsg
from tapewire.streams.stages.normalize import NormalizeStage
from tapewire.testing.frames import raw_frame, read_frames

DATA = Path(__file__).resolve().parents[3] / "data"
CODEC = Codec()
OKX_URL = "https://www.okx.com/api/v5/public/instruments"
SPOT_URL, SWAP_URL = f"{OKX_URL}?instType=SPOT", f"{OKX_URL}?instType=SWAP"
OPTION_URL = f"{OKX_URL}?instType=OPTION&uly=BTC-USD"
OKX_ALL = {
    "okx": {"fetchMarkets": {"types": ["spot", "swap", "option"]}, "defaultUnderlying": ["BTC-USD"]}
}
"""What a connector configured for OKX spot, swaps and BTC options fetches (3 requests)."""
INFO_URL = "https://api.binance.com/api/v3/exchangeInfo"
T0 = 1_684_000_001_000_000_000

Frame = dict[str, Any]


def _okx() -> tuple[Frame, list[Frame], list[Frame]]:
    """(SPOT instruments frame, [SWAP, OPTION] instruments frames, the real OKX ws frames)."""
    real = read_frames(DATA / "real" / "okx" / "frames.jsonl", "okx")
    extra = read_frames(DATA / "frames" / "okx" / "instruments.jsonl", "okx")
    return real[0], extra, [f for f in real if f["transport"] == "WEBSOCKET"]


def _binance() -> tuple[Frame, list[Frame]]:
    """(the real exchangeInfo frame, the real websocket frames)."""
    real = read_frames(DATA / "real" / "binance" / "frames.jsonl", "binance")
    info = next(f for f in real if f["rest_url"] == INFO_URL)
    return info, [f for f in real if f["transport"] == "WEBSOCKET"]


def _swap_trade(n: int = 0) -> Frame:
    trade = {
        "arg": {"channel": "trades", "instId": "BTC-USDT-SWAP"},
        "data": [
            {
                "instId": "BTC-USDT-SWAP",
                "tradeId": "9",
                "px": "26815.3",
                "sz": "3",
                "side": "buy",
                "ts": "1684000000200",
            }
        ],
    }
    return raw_frame("okx", json.dumps(trade).encode(), received_ns=T0 + n, sequence=n)


def _types(norm: Normalizer, venue: str) -> Counter[str]:
    return Counter(m["type"] for m in norm.venues[venue].ex.markets.values())


# --------------------------------------------------------------------------- OKX
def test_okx_markets_come_from_three_responses_on_one_path() -> None:
    """Before: bodies were kept by path, so the OPTION response replaced the SPOT one."""
    spot, (swap, option), _ = _okx()
    norm = Normalizer(options=OKX_ALL)
    res = norm.process_batch([spot, swap])
    assert res["dlq.normalize"] == []  # waiting for the OPTION response: no error yet
    assert not norm.has_markets("okx")
    (dead,) = norm.process(_swap_trade())["dlq.normalize"]
    assert dead["error_type"] == "NoMarkets"
    assert (
        f"GET {OPTION_URL} (key /api/v5/public/instruments?instType=OPTION&uly=BTC-USD)"
        in (dead["reason"])
    )
    assert norm.process(option)["dlq.normalize"] == []
    assert norm.has_markets("okx")
    assert norm.venues["okx"].rest.requests == [SPOT_URL, SWAP_URL, OPTION_URL]
    assert _types(norm, "okx") == {"spot": 513, "swap": 1, "option": 1}
    markets = norm.venues["okx"].ex.markets
    assert markets["BTC/USDT"]["id"] == "BTC-USDT"
    assert markets["BTC/USDT:USDT"]["id"] == "BTC-USDT-SWAP"
    assert markets["BTC/USD:BTC-230519-30000-C"]["id"] == "BTC-USD-230519-30000-C"
    (trade,) = norm.process(_swap_trade(1))["md.trades"]
    fields = ("instrument", "trade_id", "price", "size", "side")
    assert [trade[k] for k in fields] == [
        "BTC-USDT-PERP-USDT",
        "9",
        Decimal("26815.3"),
        Decimal("3"),
        "BUY",
    ]
    assert trade["exchange_ts_ns"] == 1_684_000_000_200_000_000


def test_okx_spot_markets_survive_load_markets_from_md_markets_and_handover() -> None:
    spot, extra, ws = _okx()
    published = [spot, *extra]  # md.markets order: the OPTION response last
    full = Normalizer().process_batch([spot, *ws])
    assert full["dlq.normalize"] == []
    assert len(full["md.trades"]) == 69

    # a worker with the connector's default options (spot only) asks for SPOT only
    spot_only = Normalizer()
    assert spot_only.load_markets("okx", published)
    assert _types(spot_only, "okx") == {"spot": 513}
    # one with the connector's OKX_ALL options gets all three, spot included
    norm = Normalizer(options=OKX_ALL)
    assert norm.load_markets("okx", reversed(published))
    assert _types(norm, "okx") == {"spot": 513, "swap": 1, "option": 1}

    cut = len(ws) // 2
    norm.process_batch(ws[:cut])
    norm.handover("okx")  # books and ccxt object dropped, markets re-created from the bodies
    assert _types(norm, "okx") == {"spot": 513, "swap": 1, "option": 1}
    tail = norm.process_batch(ws[cut:])
    assert tail["dlq.normalize"] == []
    tail_conn = {(f["connection_id"], f["sequence"]) for f in ws[cut:]}
    want = [
        t["trade_id"]
        for t in full["md.trades"]
        if (t["connection_id"], t["frame_sequence"]) in tail_conn
    ]
    assert [t["trade_id"] for t in tail["md.trades"]] == want
    assert len(want) > 20


def test_a_request_nobody_captured_is_an_error_naming_its_url() -> None:
    spot, _, ws = _okx()
    norm = Normalizer(options={"okx": {"fetchMarkets": {"types": ["spot", "swap"]}}})
    with pytest.raises(NormalizeError) as err:
        norm.load_markets("okx", [spot])
    assert err.value.error_type == "UncapturedRest"
    assert str(err.value).startswith(
        f"markets of okx not loaded: no captured REST response for GET {SWAP_URL}"
    )
    assert "record it with the live connector" in str(err.value)
    assert not norm.has_markets("okx")
    (dead,) = norm.process(ws[0])["dlq.normalize"]
    assert (dead["error_type"], dead["reason"]) == ("NoMarkets", str(err.value))


# --------------------------------------------------------------------------- poisoning
RATE_LIMITED = b'{"code":-1003,"msg":"Too much request weight used; current limit is 6000."}'
BAD_FRAMES = [
    # (status, payload, error_type, words of the reason, refused without loading markets)
    (200, RATE_LIMITED, "MarketsError", "error answer, ccxt raises RateLimitExceeded", True),
    (429, RATE_LIMITED, "RestError", "not a 2xx response", True),
    (502, b"<html><body>502 Bad Gateway</body></html>", "RestError", "not a 2xx response", True),
    (200, b"<html><body>maintenance</body></html>", "MarketsError", "not JSON", True),
    # valid JSON, no error: only a load through ccxt (the normalizer's) finds it empty
    (200, b'{"timezone":"UTC","symbols":[]}', "MarketsError", "ccxt found no market", False),
]


def _bad(info: Frame, status: int, payload: bytes, n: int = 1) -> Frame:
    return dict(info, rest_status=status, payload=payload, receive_ts_ns=info["receive_ts_ns"] + n)


@pytest.mark.parametrize(("status", "payload", "error_type", "why", "cheap"), BAD_FRAMES)
def test_a_bad_market_frame_is_a_dead_letter_and_keeps_the_good_markets(
    status: int, payload: bytes, error_type: str, why: str, cheap: bool
) -> None:
    info, ws = _binance()
    norm = Normalizer()
    assert norm.process(info)["dlq.normalize"] == []
    bad = _bad(info, status, payload)
    (dead,) = norm.process(bad)["dlq.normalize"]
    assert dead["error_type"] == error_type
    assert dead["reason"].startswith(f"binance REST {INFO_URL} (HTTP {status})")
    assert why in dead["reason"]
    assert "the last good response for this URL stays in use" in dead["reason"]
    # the connector does not publish it to md.markets, the stage does not keep it (checked
    # before the load; the empty one is refused by the load and then not re-published)
    assert is_venue_metadata(bad) is not cheap
    assert (norm.markets_path(bad) is None) is cheap
    norm.handover("binance")  # re-creates the venue from the kept responses: the good one
    assert len(norm.venues["binance"].ex.markets) == 1695
    res = norm.process_batch(ws)
    assert res["dlq.normalize"] == []
    assert len(res["md.quotes"]) == 84


def test_a_venue_whose_only_response_is_bad_names_it() -> None:
    info, _ = _binance()
    bad = _bad(info, 200, RATE_LIMITED)
    norm = Normalizer()
    (dead,) = norm.process(bad)["dlq.normalize"]
    assert dead["error_type"] == "MarketsError"
    assert "the last good response" not in dead["reason"]  # there is none
    with pytest.raises(NormalizeError, match="no valid market response: binance REST") as err:
        Normalizer().load_markets("binance", [bad])
    assert err.value.error_type == "MarketsError"
    assert Normalizer().load_markets("binance", [info, bad])  # the bad one is skipped
    assert Normalizer().load_markets("binance", [bad, info])


def _msgs(frames: list[Frame], first_offset: int = 0) -> list[InMsg]:
    return [
        InMsg(0, first_offset + i, CODEC.key("md.raw", f), CODEC.encode("md.raw", f))
        for i, f in enumerate(frames)
    ]


def _reader(records: list[Any]) -> Callable[[], list[Any]]:
    return lambda: records


def _out(out: list[OutMsg], topic: str) -> list[OutMsg]:
    return [m for m in out if m[0] == topic]


def test_the_stage_neither_republishes_nor_keeps_a_bad_market_frame_and_a_restart_works() -> None:
    """Before: a 200 ``{"code":-1003}`` exchangeInfo was re-published to md.markets, and
    after the next restart every Binance frame was a NoMarkets dead letter. (The Binance
    fixture of ``tests/data/frames``: the real 1.86 MB exchangeInfo is over the broker's
    message size, a RecordTooLarge dead letter of its own.)"""
    frames = read_frames(DATA / "frames" / "binance" / "frames.jsonl", "binance")
    info, stream = frames[0], frames[1:]
    assert info["rest_url"] == INFO_URL
    alone = Normalizer().process_batch(frames)
    baseline = Counter(d["error_type"] for d in alone["dlq.normalize"])
    trades = [t["trade_id"] for t in alone["md.trades"]]
    assert len(trades) == 3
    assert baseline == {"DecodeError": 1, "UnknownInstrument": 1}  # the fixture's bad frames
    cut = 6
    for bad, cheap in ((_bad(info, 200, RATE_LIMITED), True), (_bad(info, 200, b"{}"), False)):
        stage = NormalizeStage(CODEC)
        first = stage.process(_msgs([info, *stream[:cut]]))
        markets = _out(first, "md.markets")
        assert [(k, v) for _, k, v, _ in markets] == [
            (f"binance:{INFO_URL}".encode(), CODEC.encode("md.raw", info))
        ]
        second = stage.process(_msgs([bad, *stream[cut:]], first_offset=cut + 1))
        assert _out(second, "md.markets") == []
        dead = [CODEC.decode("dlq.normalize", m[2]) for m in _out(first + second, "dlq.normalize")]
        refused = [d for d in dead if d["source_offset"] == cut + 1]
        assert [d["error_type"] for d in refused] == ["MarketsError"]
        assert refused[0]["reason"].startswith(f"binance REST {INFO_URL} (HTTP 200)")
        assert Counter(d["error_type"] for d in dead) == baseline + Counter({"MarketsError": 1})
        kept = stage._market_frames["binance"]  # what the stage's other partitions load
        assert list(kept) == ["/api/v3/exchangeInfo"]
        assert kept["/api/v3/exchangeInfo"]["payload"] == info["payload"]

        # a restart reads md.markets: what this stage published, plus (an error answer) the
        # bad frame an older version re-published after it (a topic already poisoned): it
        # is skipped. (A 2xx JSON body without markets is not told apart before a load.)
        topic = [CODEC.decode("md.raw", v) for _, _, v, _ in markets] + ([bad] if cheap else [])
        restarted = NormalizeStage(CODEC, markets_reader=_reader(topic), markets_wait_s=0)
        out = restarted.process(_msgs(stream, first_offset=500))
        dead = [CODEC.decode("dlq.normalize", v) for _, _, v, _ in _out(out, "dlq.normalize")]
        assert Counter(d["error_type"] for d in dead) == baseline  # not one NoMarkets
        got = [CODEC.decode("md.trades", m[2])["trade_id"] for m in _out(out, "md.trades")]
        assert got == trades
        assert restarted.handovers == [(0, "binance")]
