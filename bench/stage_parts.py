"""Instruction counts of the normalize stage's parts (decode, core, encode), for profiling.

Like ``stage_instructions.py``: everything is built first, then only the part MODE names
runs on N frames (``none`` runs nothing: the baseline). ``decode_dict`` and ``write`` are
the calls the stage makes (RawFrame as a dict; generated writer and key function), so the
stage shell's cost = stage - (decode_dict + outputs + (write - outputs)); under cachegrind::

    for mode in none trades-decode trades-core trades-outputs trades-encode ...; do
      valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \\
        .venv/bin/python bench/stage_parts.py $mode 3000 2>&1 | grep "I *refs"
    done
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_normalize as bench

from tapewire.schemas.codec import Codec
from tapewire.streams.normalize import Normalizer
from tapewire.streams.normalize.normalizer import BOOK, TRADES

WARM = 200


def main() -> None:
    """Build the parts of one workload, then run the one named on the command line."""
    mode, count = sys.argv[1], int(sys.argv[2])
    name, _, part = mode.partition("-")
    make = bench.deltas if name == "deltas" else bench.trades
    codec = Codec()
    read = codec.for_topic("md.raw").read
    frames = make(count + WARM)
    norm = Normalizer()
    norm.process(bench._markets_frame())
    if frames[0]["transport"] == "REST":
        norm.process(read(codec.encode("md.raw", frames.pop(0))))
    values = [codec.encode("md.raw", f) for f in frames]
    decoded = [read(v) for v in values]
    norm.process_batch(decoded[:WARM])
    for topic in (TRADES, BOOK):  # serdes built (their code generated) before any timing
        codec.for_topic(topic)
        codec.key_of(topic)
    values, decoded = values[WARM:], decoded[WARM:]
    if part == "decode":
        for v in values:
            read(v)
    elif part == "decode_dict":  # what the stage calls: the frame as a dict
        decode = codec.for_topic("md.raw").decode
        for v in values:
            decode(v)
    elif part == "core":
        for i in range(0, len(decoded), 1_000):
            norm.process_batch(decoded[i : i + 1_000])
    elif part in ("outputs", "encode", "write"):  # encode's cost = encode - outputs
        out = norm.process_batch(decoded)
        if part == "encode":
            for topic in (TRADES, BOOK):
                for record in out.records[topic]:
                    codec.encode(topic, record)
                    codec.key(topic, record)
        elif part == "write":  # what the stage calls: the generated writer and key function
            for topic in (TRADES, BOOK):
                write, key_of = codec.for_topic(topic).fast_writer, codec.key_of(topic)
                assert write is not None
                for record in out.records[topic]:
                    write(record)
                    key_of(record)


if __name__ == "__main__":
    main()
