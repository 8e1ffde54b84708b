"""Execution algo errors: each names the algo order (and the field) and what was wrong."""

from __future__ import annotations

from tapewire.core.errors import TapewireError


class AlgoError(TapewireError):
    """Root of the execution algos' errors."""


class AlgoRequestError(AlgoError):
    """An algo request has a bad field: ``field`` (dotted, e.g. ``params.slices``) and
    ``value`` say which, ``hint`` what to do."""

    def __init__(self, message: str, *, field: str, value: object, hint: str | None = None):
        super().__init__(message, hint=hint or f"fix {field}")
        self.field = field
        self.value = value


class AlgoEventError(AlgoError):
    """An event cannot be applied to an algo order; the algo order is unchanged."""

    def __init__(self, message: str, *, algo_id: str) -> None:
        super().__init__(message, hint="event refused; algo state unchanged")
        self.algo_id = algo_id


class UnknownAlgoError(AlgoError):
    """No algo order is known under this id."""

    def __init__(self, algo_id: str) -> None:
        super().__init__(f"no algo order {algo_id!r}", hint="check the id or restore first")
        self.algo_id = algo_id
