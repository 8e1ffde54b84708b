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


if __name__ == "__main__":
    main(sys.argv[1])
