"""One webhook delivery attempt: a JSON POST with the standard library's HTTP client.

Retryable: no connection, a timeout, HTTP 408, 425, 429 and 5xx (``Retry-After`` in
seconds is passed on). Refused for good: any other status outside 2xx, or a redirect.
Errors name the channel (``alice/slack``), never the URL: webhook URLs hold tokens.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

import orjson

from tapewire.streams.notify.errors import DeliveryError

RETRYABLE_STATUS = frozenset({408, 425, 429})
USER_AGENT = "tapewire-notifier"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect of a POST is not followed: reported as the 3xx it is


_OPENER = urllib.request.build_opener(_NoRedirect)


def post_json(url: str, body: Mapping[str, Any], *, timeout_s: float, label: str) -> None:
    """POST ``body`` as JSON to ``url``; :class:`DeliveryError` unless the answer is 2xx."""
    request = urllib.request.Request(  # noqa: S310 - the URL is checked to be http(s)
        url,
        data=orjson.dumps(body),
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        method="POST",
    )
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        status = exc.code
        exc.close()
        retryable = status >= 500 or status in RETRYABLE_STATUS
        raise DeliveryError(
            f"webhook {label}: HTTP {status} {exc.reason}",
            retryable=retryable,
            retry_after_s=_retry_after(exc.headers.get("Retry-After")),
            hint=None if retryable else "check the webhook URL and format of this channel",
        ) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise DeliveryError(
            f"webhook {label}: {type(reason).__name__}: {reason}", retryable=True
        ) from None


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP date: use our own backoff
    return seconds if seconds >= 0 else None
