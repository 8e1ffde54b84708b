"""Normalizer pure core: md.raw frames -> harmonized records, parsed by ccxt.pro offline.

May import: :mod:`tapewire.schemas`, :mod:`tapewire.core`. Pure: no Kafka client, no Faust.
"""

from __future__ import annotations

from tapewire.streams.normalize.normalizer import (
    BookState,
    NormalizeError,
    Normalizer,
    NormalizeResult,
    SourceRef,
)

__all__ = ["BookState", "NormalizeError", "NormalizeResult", "Normalizer", "SourceRef"]
