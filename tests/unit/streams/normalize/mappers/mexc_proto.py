"""A small protobuf *encoder* for MEXC's push messages, and the builder of
``tests/data/frames/mexc/frames.jsonl``.

MEXC documents its websocket pushes as JSON renderings of protobuf messages (the
``PushDataV3ApiWrapper`` of https://github.com/mexcdevelop/websocket-proto, bundled by ccxt
in ``ccxt/protobuf/mexc``). The examples below are those renderings (field names as
protobuf's JSON mapping spells them, values from MEXC's documentation examples and
ccxt.pro's ``mexc.py`` comments, versions adjusted to chain); :func:`encode_push` turns one
into the bytes MEXC sends, with the field numbers of the ``.proto`` files (checked against
the protobuf package and ccxt's generated code by ``test_mexc.py``).

Run ``python -m tests.unit.streams.normalize.mappers.mexc_proto`` to rewrite the frame file.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

FRAMES = Path(__file__).resolve().parents[4] / "data" / "frames" / "mexc" / "frames.jsonl"

Schema = dict[str, tuple[int, Any]]
"""JSON field name -> (field number, ``"string"`` | ``"int"`` | sub-schema | [sub-schema])."""

DEPTH_ITEM: Schema = {"price": (1, "string"), "quantity": (2, "string")}
DEPTHS: Schema = {
    "asks": (1, [DEPTH_ITEM]),
    "bids": (2, [DEPTH_ITEM]),
    "eventType": (3, "string"),
    "fromVersion": (4, "string"),
    "toVersion": (5, "string"),
}
DEAL_ITEM: Schema = {
    "price": (1, "string"),
    "quantity": (2, "string"),
    "tradeType": (3, "int"),
    "time": (4, "int"),
}
DEALS: Schema = {"deals": (1, [DEAL_ITEM]), "eventType": (2, "string")}
BOOK_TICKER: Schema = {
    "bidPrice": (1, "string"),
    "bidQuantity": (2, "string"),
    "askPrice": (3, "string"),
    "askQuantity": (4, "string"),
}
WRAPPER: Schema = {
    "channel": (1, "string"),
    "symbol": (3, "string"),
    "symbolId": (4, "string"),
    "createTime": (5, "int"),
    "sendTime": (6, "int"),
    "publicAggreDepths": (313, DEPTHS),
    "publicAggreDeals": (314, DEALS),
    "publicAggreBookTicker": (315, BOOK_TICKER),
}


def varint(value: int) -> bytes:
    """Base-128 varint (negative numbers as 64-bit two's complement)."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _length_delimited(number: int, data: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(data)) + data


def encode(message: dict[str, Any], schema: Schema) -> bytes:
    """One message, fields in field-number order (as protobuf serializes them); proto3
    defaults (``""``, ``0``) are left out."""
    out = b""
    for name, (number, kind) in sorted(schema.items(), key=lambda item: item[1][0]):
        if name not in message:
            continue
        value = message[name]
        if kind == "string":
            if value != "":
                out += _length_delimited(number, str(value).encode())
        elif kind == "int":
            if int(value) != 0:
                out += varint(number << 3) + varint(int(value))
        elif isinstance(kind, list):
            out += b"".join(_length_delimited(number, encode(item, kind[0])) for item in value)
        else:
            out += _length_delimited(number, encode(value, kind))
    return out


def encode_push(message: dict[str, Any]) -> bytes:
    """A ``PushDataV3ApiWrapper`` as JSON -> the protobuf bytes MEXC sends."""
    return encode(message, WRAPPER)


T0_MS = 1_736_409_765_000
DEALS_CH = "spot@public.aggre.deals.v3.api.pb@100ms@"
DEPTH_CH = "spot@public.aggre.depth.v3.api.pb@100ms@"
TICKER_CH = "spot@public.aggre.bookTicker.v3.api.pb@100ms@"
REST_DEPTH = "https://api.mexc.com/api/v3/depth?symbol=BTCUSDT&limit=5000"


def _deals(symbol: str, send: int, deals: list[tuple[str, str, int, int]]) -> dict[str, Any]:
    return {
        "channel": DEALS_CH + symbol,
        "symbol": symbol,
        "sendTime": str(send),
        "publicAggreDeals": {
            "deals": [
                {"price": p, "quantity": q, "tradeType": side, "time": str(t)}
                for p, q, side, t in deals
            ],
            "eventType": "spot@public.aggre.deals.v3.api.pb@100ms",
        },
    }


def _depth(
    send: int, first: int, last: int, asks: list[list[str]], bids: list[list[str]]
) -> dict[str, Any]:
    depths: dict[str, Any] = {}
    if asks:
        depths["asks"] = [{"price": p, "quantity": q} for p, q in asks]
    if bids:
        depths["bids"] = [{"price": p, "quantity": q} for p, q in bids]
    depths |= {
        "eventType": "spot@public.aggre.depth.v3.api.pb@100ms",
        "fromVersion": str(first),
        "toVersion": str(last),
    }
    return {
        "channel": DEPTH_CH + "BTCUSDT",
        "symbol": "BTCUSDT",
        "sendTime": str(send),
        "publicAggreDepths": depths,
    }


V = 10_589_632_000
"""Depth versions below are V + n."""
TRADES = _deals(
    "BTCUSDT",
    T0_MS + 52,
    [("93220.00", "0.04438243", 1, T0_MS + 51), ("93219.99", "0.0015", 2, T0_MS + 51)],
)


def examples() -> list[tuple[str, str, Any]]:
    """(channel hint, kind, message): kind ``json`` (a text frame), ``pb`` (a protobuf
    push, encoded), ``rest`` (a REST body at :data:`REST_DEPTH`) or ``raw`` (bytes)."""
    ms = T0_MS
    ticker = {
        "channel": TICKER_CH + "BTCUSDT",
        "symbol": "BTCUSDT",
        "sendTime": str(ms + 433),
        "publicAggreBookTicker": {
            "bidPrice": "93387.28",
            "bidQuantity": "3.73485",
            "askPrice": "93387.29",
            "askQuantity": "7.669875",
        },
    }
    truncated = encode_push(_depth(ms + 900, V + 377, V + 377, [["93390.5", "1.25"]], []))
    return [
        ("trades", "json", {"id": 0, "code": 0, "msg": DEALS_CH + "BTCUSDT"}),
        ("book", "json", {"id": 0, "code": 0, "msg": DEPTH_CH + "BTCUSDT"}),
        ("bbo", "json", {"id": 0, "code": 0, "msg": TICKER_CH + "BTCUSDT"}),
        ("trades", "pb", TRADES),
        ("bbo", "pb", ticker),
        # deltas before the REST snapshot: buffered (the first bridges lastUpdateId 360)
        ("book", "pb", _depth(ms + 100, V + 359, V + 361, [["93387.29", "7.669875"]], [])),
        (
            "book",
            "pb",
            _depth(ms + 200, V + 362, V + 365, [["93388.1", "0.5"]], [["93387.28", "3.73485"]]),
        ),
        (
            "rest",
            "rest",
            {
                "lastUpdateId": V + 360,
                "bids": [["93387.28", "3.1"], ["93386.5", "0.2"]],
                "asks": [["93387.29", "7.0"], ["93390", "1.5"]],
                "timestamp": ms + 150,
            },
        ),
        ("book", "pb", _depth(ms + 300, V + 366, V + 366, [["93387.29", "0"]], [])),
        ("book", "json", {"id": 0, "code": 0, "msg": "PONG"}),
        # 367..369 lost: a sequence gap; 373..375 buffered while resyncing
        ("book", "pb", _depth(ms + 500, V + 370, V + 372, [], [["93386.9", "0.8"]])),
        ("book", "pb", _depth(ms + 600, V + 373, V + 375, [["93389", "2"]], [])),
        (
            "rest",
            "rest",
            {
                "lastUpdateId": V + 374,
                "bids": [["93387.28", "3.73485"], ["93386.9", "0.8"]],
                "asks": [["93388.1", "0.5"], ["93390", "1.5"]],
                "timestamp": ms + 550,
            },
        ),
        ("book", "pb", _depth(ms + 700, V + 376, V + 376, [], [["93386.9", "0.00000000"]])),
        ("trades", "pb", TRADES),  # the same frame again: 2 duplicates
        ("trades", "pb", _deals("XYZUSDT", ms + 800, [("1.5", "10", 1, ms + 799)])),
        ("book", "raw", truncated[: len(truncated) - 9]),  # cut inside a level
    ]


def build_frames() -> list[dict[str, Any]]:
    """The lines of ``frames.jsonl``."""
    lines: list[dict[str, Any]] = []
    base_ns = T0_MS * 1_000_000
    for n, (channel, kind, message) in enumerate(examples()):
        line: dict[str, Any] = {
            "received_ns": base_ns + n * 1_000_000,
            "transport": "REST" if kind == "rest" else "WEBSOCKET",
            "channel": channel,
            "connection_id": "rest-1" if kind == "rest" else "c1",
        }
        if kind == "rest":
            line["url"] = REST_DEPTH
        if kind in ("json", "rest"):
            line["payload"] = json.dumps(message, separators=(",", ":"))
        else:
            data = encode_push(message) if kind == "pb" else message
            line["binary"] = True
            line["payload_b64"] = base64.b64encode(data).decode()
        lines.append(line)
    return lines


def frame_file_text() -> str:
    """The text of ``frames.jsonl``."""
    return "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in build_frames())


if __name__ == "__main__":
    FRAMES.write_text(frame_file_text(), encoding="utf-8")
