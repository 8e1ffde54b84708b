"""The normalizer's output version, stored with every row ``tapewire renormalize`` writes.

Bump :data:`NORMALIZER_VERSION` (the next integer, as text) in the same commit as any
change under ``streams/normalize/`` that changes an output record for the same input
frames: a mapper fix, a new field, a different dead-letter reason. Refactors that keep
every record identical keep the version. The ClickHouse column ``normalizer_version``
(migration 0005) then tells which rows came from which normalizer; ``''`` means a row the
live pipeline wrote through Kafka, which does not carry the version (docs/normalizer.md).
"""

from __future__ import annotations

NORMALIZER_VERSION = "1"
"""Monotonic integer as text: compare with ``toUInt32OrZero(normalizer_version)``."""
