"""Rebuild ``tests/data/real/<venue>/*.jsonl`` from cryptofeed's recorded sample data.

Usage (needs ``git``; no network)::

    git clone https://github.com/bmoscon/cryptofeed /tmp/cryptofeed
    python tests/data/real/extract.py /tmp/cryptofeed/.git

Only frames are selected and re-wrapped: every payload is the recorded text, unchanged.
Receive times are the recorder's wall-clock seconds (a decimal literal in the capture),
converted exactly to UTC integer nanoseconds. The line parsing is the importer's
(``tapewire import cryptofeed``, :mod:`tapewire.connectors.capture.importers.cryptofeed`).
Provenance: ``tests/data/real/README.md``.

Only commits released under cryptofeed's permissive licence are read (``MASTER`` and
``L1`` below, both with the XFree86-1.1-style ``LICENSE``). cryptofeed's ``v3`` branch
(AGPL-3.0-or-later) also holds Coinbase Advanced Trade and Bybit v5 spot captures; they
are deliberately not extracted: Tapewire is Apache-2.0 and takes no AGPL material.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import ccxt.pro as ccxtpro

from tapewire.connectors.capture.importers.cryptofeed import seconds_to_ns as to_ns
from tapewire.connectors.capture.importers.cryptofeed import v1_records

OUT = Path(__file__).resolve().parent
MASTER = "ce58c2a0015040aa2271e80bac783d74fa2cdcff"  # cryptofeed master, 2026-08-09
L1 = "28655106418af352f6a68387be639ee524e9c5f6"  # cryptofeed "L1BOOK support BYBIT", 2025-06

Row = dict[str, Any]


def git_show(git_dir: str, commit: str, path: str) -> bytes:
    """One file of the cryptofeed repository at one commit."""
    cmd = ["git", "--git-dir", git_dir, "show", f"{commit}:{path}"]
    return subprocess.run(cmd, check=True, capture_output=True).stdout


def rest_row(seconds: str, conn: str, url: str, payload: str, source: str) -> Row:
    return {
        "received_ns": to_ns(seconds),
        "transport": "REST",
        "channel": "rest",
        "connection_id": conn,
        "url": url,
        "payload": payload,
        "source": source,
    }


def ws_row(seconds: str, conn: str, payload: str, source: str, channel: str | None = None) -> Row:
    row: Row = {"received_ns": to_ns(seconds), "transport": "WEBSOCKET"}
    if channel is not None:
        row["channel"] = channel
    row |= {"connection_id": conn, "payload": payload, "source": source}
    return row


def binance(git_dir: str) -> list[Row]:
    """The whole capture: exchangeInfo, 4 REST depth snapshots, 265 websocket frames."""
    rows: list[Row] = []
    files = (
        ("sample_data/BINANCE.0", "BINANCE.http.sync"),
        ("sample_data/BINANCE.http.0.0", "BINANCE.http.0"),
        ("sample_data/BINANCE.ws.1.0", "BINANCE.ws.1"),
    )
    for path, conn in files:
        text = git_show(git_dir, MASTER, path).decode("utf-8")
        for no, kind, seconds, url, payload in v1_records(text):
            source = f"{path}:{no}"
            if kind == "http" and url is not None:
                rows.append(rest_row(seconds, conn, url, payload, source))
            else:
                stream = json.loads(payload).get("stream")  # the live tap's channel hint
                rows.append(ws_row(seconds, conn, payload, source, stream))
    return sorted(rows, key=lambda r: int(r["received_ns"]))  # md.raw order


def okx(git_dir: str) -> list[Row]:
    """First SPOT instruments response, then every BTC-USDT websocket frame."""
    rows: list[Row] = []
    meta = git_show(git_dir, MASTER, "sample_data/OKX.0").decode("utf-8")
    for no, kind, seconds, url, payload in v1_records(meta):
        if kind == "http" and url is not None and url.endswith("instType=SPOT"):
            rows.append(rest_row(seconds, "OKX.http.sync", url, payload, f"sample_data/OKX.0:{no}"))
            break
    ws = git_show(git_dir, MASTER, "sample_data/OKX.ws.1.0").decode("utf-8")
    for no, _kind, seconds, _url, payload in v1_records(ws):
        if (json.loads(payload).get("arg") or {}).get("instId") == "BTC-USDT":
            rows.append(ws_row(seconds, "OKX.ws.1", payload, f"sample_data/OKX.ws.1.0:{no}"))
    return rows


def bybit_bbo(git_dir: str) -> list[Row]:
    """Every frame received on the spot ``orderbook.1`` connection of the 2025 capture (its
    markets file is the retired v2 ``/v2/public/symbols``, which ccxt no longer loads: the
    test uses the documentation-derived markets of ``tests/data/frames/bybit``)."""
    path = "sample_data/BYBIT.ws.2.0"
    text = git_show(git_dir, L1, path).decode("utf-8")
    return [
        ws_row(seconds, "BYBIT.ws.2", payload, f"{path}:{no}")
        for no, _kind, seconds, _url, payload in v1_records(text)
    ]


def _frames_of(git_dir: str, path: str, conn: str, keep: Any) -> list[Row]:
    """Every received frame of one connection file whose decoded payload ``keep`` accepts."""
    text = git_show(git_dir, MASTER, path).decode("utf-8")
    return [
        ws_row(seconds, conn, payload, f"{path}:{no}")
        for no, kind, seconds, _url, payload in v1_records(text)
        if kind != "http" and keep(json.loads(payload))
    ]


def coinbaseexchange(git_dir: str) -> list[Row]:
    """Coinbase Exchange (cryptofeed's COINBASE, 2021-04-17): the 3 subscription acks and
    every frame of BAND-GBP and NU-GBP (``level2`` snapshot + ``l2update``, ``ticker``,
    ``last_match``, ``match``). Markets: ``tests/data/frames/coinbaseexchange/markets.json``
    (ccxt's parse of the recorded ``/products``, :func:`coinbaseexchange_markets`)."""
    products = {"BAND-GBP", "NU-GBP"}
    return _frames_of(
        git_dir,
        "sample_data/COINBASE.ws.28.0",
        "COINBASE.ws.28",
        lambda m: m.get("type") == "subscriptions" or m.get("product_id") in products,
    )


def krakenfutures(git_dir: str) -> list[Row]:
    """Kraken Futures (2021-07-22): the info and subscription acks of the two products and
    every frame of PI_XRPUSD (perpetual) and FI_BCHUSD_210730 (fixed maturity):
    ``book_snapshot`` + ``book``, ``trade_snapshot`` + ``trade``, ``ticker_lite``."""
    products = {"PI_XRPUSD", "FI_BCHUSD_210730"}

    def keep(m: dict[str, Any]) -> bool:
        if m.get("event") == "info":
            return True
        ids = m.get("product_ids") or [m.get("product_id")]
        return any(i in products for i in ids)

    return _frames_of(git_dir, "sample_data/KRAKEN_FUTURES.ws.1.0", "KRAKEN_FUTURES.ws.1", keep)


def gemini(git_dir: str) -> list[Row]:
    """Gemini market data v2 (2021-06-24): heartbeats and every frame of ALCXUSD and
    ANKRUSD (``l2_updates``: the first per symbol is the full book, then updates;
    ``trade``)."""
    symbols = {"ALCXUSD", "ANKRUSD"}
    return _frames_of(
        git_dir,
        "sample_data/GEMINI.ws.1.0",
        "GEMINI.ws.1",
        lambda m: m.get("type") == "heartbeat" or m.get("symbol") in symbols,
    )


def rest_bodies(git_dir: str, path: str) -> dict[str, str]:
    """URL -> recorded body of every REST response in one cryptofeed file."""
    text = git_show(git_dir, MASTER, path).decode("utf-8")
    records = v1_records(text)
    return {url: payload for _no, kind, _s, url, payload in records if url and kind == "http"}


def unified_markets(venue: str, bodies: dict[str, str], ids: set[str]) -> list[Row]:
    """ccxt's own ``fetch_markets`` over recorded REST bodies (served by URL path, no
    network), the markets whose id is in ``ids``."""
    from urllib.parse import urlparse

    from tapewire.streams.normalize.ccxt_offline import CapturedRest, run_sync

    ex = getattr(ccxtpro, venue)()
    ex.fetch = CapturedRest({urlparse(u).path: b.encode() for u, b in bodies.items()})
    return [m for m in run_sync(ex.fetch_markets()) if m["id"] in ids]


def markets(git_dir: str) -> dict[str, list[Row]]:
    """Unified markets of the recorded products (``tests/data/frames/<venue>/markets.json``).

    Kraken Futures: the 2021 ``/derivatives/api/v3/instruments`` listed symbols in lower
    case (``pi_xrpusd``) while the websocket sends ``PI_XRPUSD`` (ccxt cannot resolve
    them: ``BadSymbol``); the venue now lists them upper case, so ids are upper-cased."""
    coinbase = rest_bodies(git_dir, "sample_data/COINBASE.0")
    kraken = rest_bodies(git_dir, "sample_data/KRAKEN_FUTURES.0")
    futures = unified_markets("krakenfutures", kraken, {"pi_xrpusd", "fi_bchusd_210730"})
    for market in futures:
        market["id"] = market["id"].upper()
    gemini_rest = rest_bodies(git_dir, "sample_data/GEMINI.0")
    return {
        "coinbaseexchange": unified_markets(
            "coinbaseexchange", coinbase, {"BAND-GBP", "NU-GBP", "BTC-USD"}
        ),
        "krakenfutures": futures,
        "gemini": unified_markets("gemini", gemini_rest, {"alcxusd", "ankrusd", "btcusd"}),
    }


def write(venue: str, rows: list[Row], *, name: str = "frames") -> None:
    text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows).encode()
    folder = OUT / venue
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.jsonl").write_bytes(text)
    print(f"{venue}/{name}: {len(rows)} frames, {len(text):,} bytes")


def main(git_dir: str) -> None:
    write("binance", binance(git_dir))
    write("okx", okx(git_dir))
    write("bybit", bybit_bbo(git_dir), name="bbo")
    write("coinbaseexchange", coinbaseexchange(git_dir))
    write("krakenfutures", krakenfutures(git_dir))
    write("gemini", gemini(git_dir))
    for venue, unified in markets(git_dir).items():
        path = OUT.parent / "frames" / venue / "markets.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(unified, indent=1) + "\n", encoding="utf-8")
        print(f"{venue}/markets.json: {len(unified)} markets")


if __name__ == "__main__":
    main(sys.argv[1])
