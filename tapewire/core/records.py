"""The record types: an Avro record as Python code sees it (field name -> value)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Record = Mapping[str, Any]
"""A decoded Avro record, as the codec returns it (decimals as Decimal, enums as str)."""

MutableRecord = dict[str, Any]
"""A record being built or amended (a venue's OrderEvent/Fill before it is sent)."""
