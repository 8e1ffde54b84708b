"""Smart order router errors: each names the parent order and what was wrong."""

from __future__ import annotations

from tapewire.core.errors import TapewireError


class SorError(TapewireError):
    """Root of the smart order router's errors."""


class ParentEventError(SorError):
    """An event cannot be applied to a parent order; the parent is unchanged."""

    def __init__(self, message: str, *, parent_id: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or "event refused; parent state unchanged")
        self.parent_id = parent_id


class UnknownParentError(SorError):
    """No parent order is known under this id."""

    def __init__(self, parent_id: str) -> None:
        super().__init__(f"no parent order {parent_id!r}")
        self.parent_id = parent_id
