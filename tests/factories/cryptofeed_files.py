"""cryptofeed's recorded Binance session (``sample_data/BINANCE.*``) in its own file format,
rebuilt from ``tests/data/real/binance/frames.jsonl``.

The fixture keeps every received payload, REST URL and receive time with the line it came
from (``source``); only the configuration and connect lines are not frames, and they are
given here verbatim. The rebuilt files are byte-identical to cryptofeed's (their SHA-256 is
checked against :data:`SHA256`, taken from cryptofeed ``ce58c2a0…``), so the import tests
run on the real files without the repository holding a second 2 MB copy of them.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
CONFIG = (
    'configuration: {"trades":["NKN-USDT","BLZ-ETH","LRC-BTC","RUNE-EUR"],"l2_book":'
    '["NKN-USDT","BLZ-ETH","LRC-BTC","RUNE-EUR"],"candles":["NKN-USDT","BLZ-ETH","LRC-BTC",'
    '"RUNE-EUR"],"ticker":["NKN-USDT","BLZ-ETH","LRC-BTC","RUNE-EUR"]}'
)
STREAMS = "/".join(
    f"{s}@{c}"
    for c in ("depth@100ms", "bookTicker", "kline_1m", "aggTrade")
    for s in ("nknusdt", "blzeth", "lrcbtc", "runeeur")
)
CONNECT = f"wss://stream.binance.com:9443/stream?streams={STREAMS} <-> 1633998511.159679"
SHA256 = {
    "BINANCE.0": "0f7142917e28d434abc65eae98bae2ff077bdba53a9c1bde29c386f86db33268",
    "BINANCE.http.0.0": "f482e6ea64cb2cbbf2ea6d038f509d9587720631f4287747d2edc480e880c21d",
    "BINANCE.ws.1.0": "5ba2e0cc8204e49dff3d4c608dbb1c3cacc06d432d910ccc31f6b94136bfa5d2",
}


def seconds(ns: int) -> str:
    """UTC ns back to the recorder's text: ``time.time()`` printed (no trailing zeros)."""
    text = format(Decimal(ns) / 1_000_000_000, "f")
    return text.rstrip("0") if "." in text else f"{text}.0"


def write_binance(folder: Path) -> list[Path]:
    """Write ``BINANCE.0``, ``BINANCE.http.0.0`` and ``BINANCE.ws.1.0`` into ``folder``."""
    lines: dict[str, dict[int, str]] = {name: {} for name in SHA256}
    lines["BINANCE.0"][2] = CONFIG
    lines["BINANCE.ws.1.0"][1] = CONNECT
    for row in map(json.loads, (REAL / "binance" / "frames.jsonl").open(encoding="utf-8")):
        path, number = row["source"].rsplit(":", 1)
        name = path.removeprefix("sample_data/")
        ts = seconds(row["received_ns"])
        url = f"{row['url']} -> " if row["transport"] == "REST" else ""
        lines[name][int(number)] = f"{url}{ts}: {row['payload']}"
    paths = []
    for name, numbered in lines.items():
        text = "\n".join(numbered[n] for n in sorted(numbered)) + "\n"
        if name != "BINANCE.0":
            text += "\n"  # cryptofeed's last flush of an empty buffer
        (folder / name).write_text(text, encoding="utf-8")
        paths.append(folder / name)
    return paths
