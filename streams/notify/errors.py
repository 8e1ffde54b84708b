"""The error a channel raises when one delivery attempt fails."""

from __future__ import annotations

from tapewire.core.errors import TapewireError


class DeliveryError(TapewireError):
    """One attempt to deliver a notification failed.

    ``retryable``: the next attempt may succeed (HTTP 5xx/429, a refused connection, an
    SMTP 4xx); false for a refusal that will not change (HTTP 404, SMTP 550).
    ``retry_after_s``: the wait the receiver asked for (HTTP ``Retry-After``), if any.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after_s: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.retryable = retryable
        self.retry_after_s = retry_after_s
