"""Who is calling and what they may touch: role ranks and per-account checks (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from tapewire.api.errors import PermissionDeniedError
from tapewire.api.users import Role, User


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the user and the token they came with."""

    user: User
    token_id: str

    def require(self, role: Role) -> None:
        """:class:`PermissionDeniedError` unless the user's role is ``role`` or above."""
        if self.user.role.rank < role.rank:
            raise PermissionDeniedError(
                f"role {self.user.role} may not do this (needs {role})",
                hint="ask an administrator for a user with that role",
            )

    def check_account(self, account: str) -> str:
        """``account`` if it is the user's, else :class:`PermissionDeniedError`."""
        if not self.user.may_use(account):
            raise PermissionDeniedError(
                f"account {account!r} is not one of user {self.user.name!r}'s accounts",
                hint="GET /v1/me lists your accounts",
            )
        return account

    def account_filter(self, account: str | None) -> list[str] | None:
        """The accounts a read covers: ``[account]`` (checked), else all of the user's
        (None = every account, for users with ``*``)."""
        if account is not None:
            return [self.check_account(account)]
        if self.user.all_accounts:
            return None
        return sorted(self.user.accounts)
