"""API tokens: HS256 JWTs carrying the user, the role, an id and an expiry.

A token is checked on every request: signature, expiry (``exp``, no leeway), and that its
user still exists with the same role (a removed or demoted user's tokens stop working).
The token id (``jti``) keys the per-token rate limit and the audit log.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import jwt

from tapewire.api.errors import AuthenticationError
from tapewire.api.users import Role

ALGORITHM = "HS256"
ISSUER = "tapewire-api"
MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class Claims:
    """What a valid token says."""

    user: str
    role: Role
    token_id: str
    expires_at_s: int


@dataclass(frozen=True)
class IssuedToken:
    """A new token and when it expires (UTC seconds)."""

    token: str
    claims: Claims


class TokenIssuer:
    """Issues and verifies tokens with one secret; ``clock`` returns UTC seconds."""

    def __init__(self, secret: bytes, *, ttl_s: int, clock: Callable[[], float]) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the token secret must be at least {MIN_SECRET_BYTES} bytes")
        if ttl_s <= 0:
            raise ValueError("the token lifetime must be positive")
        self._secret = secret
        self._ttl_s = ttl_s
        self._clock = clock

    def issue(self, user: str, role: Role) -> IssuedToken:
        """A token for ``user`` valid for the configured lifetime."""
        now = int(self._clock())
        claims = Claims(user, role, uuid.uuid4().hex, now + self._ttl_s)
        payload = {
            "sub": user,
            "role": role.value,
            "jti": claims.token_id,
            "iat": now,
            "exp": claims.expires_at_s,
            "iss": ISSUER,
        }
        return IssuedToken(jwt.encode(payload, self._secret, algorithm=ALGORITHM), claims)

    def verify(self, token: str) -> Claims:
        """The claims of ``token``; :class:`AuthenticationError` if it is not valid now."""
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                issuer=ISSUER,
                options={"require": ["sub", "role", "jti", "exp", "iat"], "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise AuthenticationError(
                f"invalid token: {exc}", hint="get a new one from POST /v1/auth/token"
            ) from None
        exp = payload["exp"]
        if not isinstance(exp, int) or exp <= int(self._clock()):
            raise AuthenticationError(
                "token expired", hint="get a new one from POST /v1/auth/token"
            )
        try:
            role = Role(payload["role"])
        except ValueError:
            raise AuthenticationError(f"invalid token: unknown role {payload['role']!r}") from None
        return Claims(str(payload["sub"]), role, str(payload["jti"]), exp)
