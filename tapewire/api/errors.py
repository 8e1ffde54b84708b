"""API errors: each carries the HTTP status it maps to and, where it helps, a header."""

from __future__ import annotations

from tapewire.core.errors import TapewireError


class ApiError(TapewireError):
    """An error answered to the caller with ``status`` and ``{"detail": message}``."""

    status: int = 400

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.detail = message if hint is None else f"{message} ({hint})"


class AuthenticationError(ApiError):
    """No credentials, bad credentials, or an expired or invalid token (401)."""

    status = 401


class PermissionDeniedError(ApiError):
    """Authenticated, but the role or the account does not allow this (403)."""

    status = 403


class NotFoundError(ApiError):
    """Nothing by that id among the caller's accounts (404)."""

    status = 404


class RateLimitedError(ApiError):
    """Too many requests for this token (or login attempts); ``retry_after_s`` says when
    to try again (429, ``Retry-After`` header)."""

    status = 429

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message, hint=f"retry after {retry_after_s:.1f} s")
        self.retry_after_s = retry_after_s


class UnavailableError(ApiError):
    """A backend (Kafka, ClickHouse) did not answer (503)."""

    status = 503
