"""API users: argon2id password hashes, one role each, and the accounts they may use.

The users file is TOML (its path is ``[api] users_file``); passwords are never stored,
only their argon2 hashes (``tapewire api hash-password`` prints one)::

    [users.alice]
    password_hash = "$argon2id$v=19$m=65536,t=3,p=4$..."
    role = "trader"                 # viewer | trader | risk_admin
    accounts = ["desk"]             # "*" = every account

Roles: a ``viewer`` reads the orders, fills, positions and exports of its accounts; a
``trader`` also places and cancels orders on them; a ``risk_admin`` may do everything on
every account, including the kill switch.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tapewire.core.errors import ConfigError

ALL_ACCOUNTS = "*"
_HASHER = PasswordHasher()
# verified against when the user is unknown, so a wrong name costs as much as a wrong password
_DUMMY_HASH = _HASHER.hash("tapewire-no-such-user")


class Role(StrEnum):
    """What a user may do; each role includes the ones before it."""

    VIEWER = "viewer"
    TRADER = "trader"
    RISK_ADMIN = "risk_admin"

    @property
    def rank(self) -> int:
        """0 viewer, 1 trader, 2 risk_admin."""
        return list(Role).index(self)


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (random salt; the library's default cost)."""
    if not password:
        raise ValueError("an empty password cannot be hashed")
    return _HASHER.hash(password)


@dataclass(frozen=True)
class User:
    """One API user: name, role, accounts (``*`` = all) and the argon2 password hash."""

    name: str
    role: Role
    accounts: frozenset[str]
    password_hash: str

    @property
    def all_accounts(self) -> bool:
        """True when the user may use every account."""
        return ALL_ACCOUNTS in self.accounts

    def may_use(self, account: str) -> bool:
        """True when ``account`` is one of the user's."""
        return self.all_accounts or account in self.accounts


class _UserEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    password_hash: str = Field(min_length=1)
    role: Role
    accounts: tuple[str, ...] = Field(min_length=1)

    @field_validator("password_hash")
    @classmethod
    def _argon2(cls, value: str) -> str:
        if not value.startswith("$argon2"):
            raise ValueError(
                "not an argon2 hash (expected $argon2id$...); make one with "
                "tapewire api hash-password"
            )
        return value


class _UsersFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    users: dict[str, _UserEntry] = Field(min_length=1)


class UserStore:
    """The users, by name; :meth:`authenticate` checks a password in constant work."""

    def __init__(self, users: Mapping[str, User]) -> None:
        self._users = dict(users)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "users file") -> UserStore:
        """Users from a parsed users file; :class:`ConfigError` names the bad key."""
        try:
            parsed = _UsersFile.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            path = ".".join(str(p) for p in err["loc"])
            raise ConfigError(
                f"{source}: {path}: {err['msg']}",
                field=path,
                hint="see docs/api.md (Users) for the file's keys",
            ) from None
        return cls(
            {
                name: User(name, entry.role, frozenset(entry.accounts), entry.password_hash)
                for name, entry in parsed.users.items()
            }
        )

    @classmethod
    def load(cls, path: Path) -> UserStore:
        """Read the TOML users file at ``path``."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(
                f"cannot read the API users file {path}: {exc.strerror}",
                field="api.users_file",
                value=str(path),
                hint="create it (docs/api.md, Users) or fix [api] users_file",
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                f"{path} is not valid TOML: {exc}", field="api.users_file", value=str(path)
            ) from None
        return cls.from_mapping(data, str(path))

    def get(self, name: str) -> User | None:
        """The user called ``name``, if any."""
        return self._users.get(name)

    def authenticate(self, name: str, password: str) -> User | None:
        """The user if ``password`` is theirs, else None (an unknown name costs the same)."""
        user = self._users.get(name)
        try:
            _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return user
