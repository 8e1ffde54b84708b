"""Normalizer pure core: md.raw frames -> harmonized records, parsed by ccxt.pro offline."""

from __future__ import annotations

from tapewire.streams.normalize.normalizer import (
    BookState,
    NormalizeError,
    Normalizer,
    NormalizeResult,
    SourceRef,
)

__all__ = ["BookState", "NormalizeError", "NormalizeResult", "Normalizer", "SourceRef"]
