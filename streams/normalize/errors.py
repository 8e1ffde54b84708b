"""The normalizer's error: every failure becomes a DeadLetter with its ``error_type``."""

from __future__ import annotations

from tapewire.core.errors import TapewireError


class NormalizeError(TapewireError):
    """A frame could not be normalized; becomes a DeadLetter with ``error_type``."""

    def __init__(self, message: str, *, error_type: str = "ParseError") -> None:
        super().__init__(message)
        self.error_type = error_type
