"""Normalizer pure core: md.raw frames -> harmonized records, parsed by ccxt.pro offline.

May import: :mod:`tapewire.schemas`, :mod:`tapewire.core`. Pure: no Kafka client, no Faust.
"""

from __future__ import annotations

from tapewire.streams.normalize.compiled import check_fresh

check_fresh()  # before any compiled module is imported

from tapewire.streams.normalize.normalizer import (  # noqa: E402
    BookState,
    NormalizeError,
    Normalizer,
    NormalizeResult,
    SourceRef,
)

__all__ = ["BookState", "NormalizeError", "NormalizeResult", "Normalizer", "SourceRef"]
