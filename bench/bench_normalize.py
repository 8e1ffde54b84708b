"""Microbenchmark of the normalizer: frames/s per process, three ways.

Run: ``.venv/bin/python bench/bench_normalize.py [--frames 20000] [--runs 5] [--json F]``.
Two workloads on Binance spot: one trade per frame, and book deltas (2 bid + 2 ask levels
per frame) on a synced book. Measured, interleaved per run (A B C A B C ...):

* ``native``: the pure core with the native Binance mapper (``Normalizer.process_batch``);
* ``ccxt``: the same core through ccxt.pro's handlers (``Normalizer(native=False)``);
* ``stage``: the whole normalize stage with Avro decode and encode
  (``NormalizeStage.process`` on encoded md.raw messages, batches of 1,000, native mapper),
  with the generated Avro writer/readers (``tapewire.schemas.compiled``);
* ``stage-fastavro``: the same stage with fastavro only (``Codec(compiled=False)``), the
  codec before the generated code.

A third workload, OKX books (the recorded snapshot of 400 levels, then its 97 recorded
updates, every checksum verified), runs the two stage sides only: one pass is a fresh stage,
the markets and the snapshot untimed, the updates timed; ``--okx-passes`` passes per run.

Medians of the runs are printed with the machine info. No thresholds: numbers only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ccxt

from tapewire.schemas.codec import Codec
from tapewire.streams.normalize import Normalizer
from tapewire.streams.stages.base import InMsg
from tapewire.streams.stages.normalize import NormalizeStage
from tapewire.testing.frames import raw_frame, read_frames

FRAMES = Path(__file__).resolve().parents[1] / "tests" / "data" / "frames" / "binance"
OKX = Path(__file__).resolve().parents[1] / "tests" / "data" / "real" / "okx" / "frames.jsonl"
T0 = 1_700_000_000_000_000_000


def _markets_frame() -> dict[str, Any]:
    return read_frames(FRAMES / "frames.jsonl", "binance")[0]


def trades(n: int) -> list[dict[str, Any]]:
    """n trade frames with distinct ids."""
    out = []
    for i in range(n):
        side = "true" if i % 2 else "false"
        payload = (
            f'{{"e":"trade","E":1672515782136,"s":"BTCUSDT","t":{i},'
            f'"p":"16541.{i % 100:02d}000000",'
            f'"q":"0.00512000","T":1672515782134,"m":{side},"M":true}}'
        ).encode()
        out.append(raw_frame("binance", payload, received_ns=T0 + i, sequence=i))
    return out


def deltas(n: int) -> list[dict[str, Any]]:
    """A REST snapshot then n contiguous depthUpdate frames."""
    snap = json.dumps(
        {
            "lastUpdateId": 0,
            "bids": [[f"{16000 - i}.00", "1.00"] for i in range(50)],
            "asks": [[f"{16001 + i}.00", "1.00"] for i in range(50)],
        }
    ).encode()
    url = "https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000"
    out = [raw_frame("binance", snap, received_ns=T0, transport="REST", url=url)]
    for i in range(1, n + 1):
        bids = f'[["{16000 - i % 40}.00","{i % 9}.5"],["{15999 - (i + 7) % 40}.00","0.00"]]'
        asks = f'[["{16001 + i % 40}.00","2.{i % 9}"],["{16002 + (i + 5) % 40}.00","0.00"]]'
        payload = (
            f'{{"e":"depthUpdate","E":{1672515782000 + i},"s":"BTCUSDT","U":{i},"u":{i},'
            f'"b":{bids},"a":{asks}}}'
        ).encode()
        out.append(raw_frame("binance", payload, received_ns=T0 + i, sequence=i))
    return out


def core(make: Callable[[int], list[dict[str, Any]]], n: int, native: bool) -> float:
    """frames/s of ``process_batch`` on a fresh normalizer (markets and snapshot loaded)."""
    norm = Normalizer(native=native)
    norm.process(_markets_frame())
    frames = make(n)
    if frames[0]["transport"] == "REST":
        norm.process(frames.pop(0))
    start = time.perf_counter()
    out = norm.process_batch(frames)
    elapsed = time.perf_counter() - start
    produced = sum(len(v) for k, v in out.records.items() if k != "dlq.normalize")
    assert not out.records["dlq.normalize"], out.records["dlq.normalize"][:1]
    assert produced == len(frames), (produced, len(frames))
    return len(frames) / elapsed


def stage(
    make: Callable[[int], list[dict[str, Any]]], n: int, batch: int = 1_000, compiled: bool = True
) -> float:
    """frames/s of ``NormalizeStage.process`` (Avro decode, normalize, Avro encode)."""
    codec = Codec(compiled=compiled)
    st = NormalizeStage(codec, republish_markets=False)
    frames = make(n)
    head = [_markets_frame()] + ([frames.pop(0)] if frames[0]["transport"] == "REST" else [])
    st.process([InMsg(0, i, None, codec.encode("md.raw", f)) for i, f in enumerate(head)])
    msgs = [InMsg(0, len(head) + i, None, codec.encode("md.raw", f)) for i, f in enumerate(frames)]
    produced = 0
    start = time.perf_counter()
    for i in range(0, len(msgs), batch):
        produced += len(st.process(msgs[i : i + batch]))
    elapsed = time.perf_counter() - start
    assert produced == len(frames), (produced, len(frames))
    return len(frames) / elapsed


def okx_books(passes: int, compiled: bool = True) -> float:
    """frames/s of the stage on OKX's recorded book updates (see the module docstring)."""
    rows = read_frames(OKX, "okx")
    markets = [r for r in rows if r["transport"] == "REST"]
    books = [
        r
        for r in rows
        if r["transport"] == "WEBSOCKET"
        and b'"channel":"books"' in r["payload"]
        and b'"data"' in r["payload"]
    ]
    books = [{**f, "sequence": i} for i, f in enumerate(books)]
    codec = Codec(compiled=compiled)
    head = [InMsg(0, i, None, codec.encode("md.raw", f)) for i, f in enumerate(markets + books[:1])]
    timed = [
        InMsg(0, len(head) + i, None, codec.encode("md.raw", f)) for i, f in enumerate(books[1:])
    ]
    elapsed = 0.0
    for _ in range(passes):
        st = NormalizeStage(codec, republish_markets=False)
        st.process(head)
        start = time.perf_counter()
        out = st.process(timed)
        elapsed += time.perf_counter() - start
        assert not [m for m in out if m.topic.startswith("dlq")], out[:1]
        assert sum(m.topic == "md.book" for m in out) == len(timed), len(out)
    return passes * len(timed) / elapsed


def main() -> None:
    """Print machine info and the median frames/s per workload."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--okx-passes", type=int, default=60)
    parser.add_argument("--json", type=Path, help="also write the medians to this file")
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}; "
        f"ccxt {ccxt.__version__}"
    )
    print(f"{args.frames} frames per run, median of {args.runs} runs, one process")
    results: dict[str, dict[str, float]] = {}
    for name, make in (("binance trades", trades), ("binance book deltas", deltas)):
        rates: dict[str, list[float]] = {
            "native": [],
            "ccxt": [],
            "stage": [],
            "stage-fastavro": [],
        }
        for _ in range(args.runs):  # interleaved: load changes hit every side alike
            rates["native"].append(core(make, args.frames, native=True))
            rates["ccxt"].append(core(make, args.frames, native=False))
            rates["stage"].append(stage(make, args.frames))
            rates["stage-fastavro"].append(stage(make, args.frames, compiled=False))
        _report(name, rates, results)
        print(f"{name:20s} native/ccxt {results[name]['native'] / results[name]['ccxt']:.1f}x")
    okx: dict[str, list[float]] = {"stage": [], "stage-fastavro": []}
    for _ in range(args.runs):
        okx["stage"].append(okx_books(args.okx_passes))
        okx["stage-fastavro"].append(okx_books(args.okx_passes, compiled=False))
    _report("okx books", okx, results)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(),
                    "load_avg_1m": os.getloadavg()[0],
                    "frames": args.frames,
                    "runs": args.runs,
                    "frames_per_s": results,
                    "runs_frames_per_s": runs,
                },
                indent=2,
            )
            + "\n"
        )


runs: dict[str, dict[str, list[float]]] = {}


def _report(name: str, rates: dict[str, list[float]], results: dict[str, dict[str, float]]) -> None:
    medians = {side: statistics.median(r) for side, r in rates.items()}
    results[name] = medians
    runs[name] = rates
    for side, rate in medians.items():
        print(f"{name:20s} {side:14s} {rate:10,.0f} frames/s  ({1e6 / rate:6.1f} us/frame)")
    if "stage-fastavro" in medians:
        ratios = [
            new / old for new, old in zip(rates["stage"], rates["stage-fastavro"], strict=True)
        ]
        print(
            f"{name:20s} stage/stage-fastavro {medians['stage'] / medians['stage-fastavro']:.2f}x "
            f"(per run: {', '.join(f'{r:.2f}' for r in ratios)})"
        )


if __name__ == "__main__":
    main()
