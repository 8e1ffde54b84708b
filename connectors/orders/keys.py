"""Encrypted store of exchange API credentials, opened only by the ccxt venue.

One file holds every ``(venue, account)`` pair, encrypted at rest with Fernet
(AES-128-CBC + HMAC-SHA256) under a key derived from a passphrase with scrypt. The
passphrase comes from the caller, else ``TAPEWIRE_KEYSTORE_PASSPHRASE``, else an
interactive prompt (never from a file next to the store). The file is written with mode
0600 and refused when group or others can read it.

    store = KeyStore.create(path, passphrase)            # or KeyStore.open(path, passphrase)
    store.put("binance", "main", api_key="...", secret="...")
    store.save()
    creds = KeyStore.open(path).get("binance", "main")   # -> Credentials (SecretStr values)

Secret values are :class:`pydantic.SecretStr`: ``repr``/``str`` show ``**********``;
no error message of this module contains a key, a secret or the passphrase.
See ``docs/ccxt-venue.md``.
"""

from __future__ import annotations

import base64
import getpass
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from pydantic import SecretStr

from tapewire.core.errors import TapewireError

PASSPHRASE_ENV = "TAPEWIRE_KEYSTORE_PASSPHRASE"  # noqa: S105 - a variable name
FORMAT = "tapewire-keystore/1"
SCRYPT_N = 2**15
SCRYPT_R = 8
SCRYPT_P = 1


class KeyStoreError(TapewireError):
    """The key store cannot be read, decrypted or written, or lacks a credential."""

    def __init__(self, message: str, *, path: Path | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.path = path


@dataclass(frozen=True, slots=True)
class Credentials:
    """API credentials of one account on one venue; secret values never print."""

    venue: str
    account: str
    api_key: SecretStr
    secret: SecretStr
    password: SecretStr | None = None  # some venues call it passphrase
    uid: SecretStr | None = None

    def ccxt_config(self) -> dict[str, str]:
        """The ``apiKey``/``secret``/``password``/``uid`` entries of a ccxt exchange config.

        The only place plain values leave this object: pass the result straight to ccxt.
        """
        config = {
            "apiKey": self.api_key.get_secret_value(),
            "secret": self.secret.get_secret_value(),
        }
        if self.password is not None:
            config["password"] = self.password.get_secret_value()
        if self.uid is not None:
            config["uid"] = self.uid.get_secret_value()
        return config

    def secret_values(self) -> tuple[str, ...]:
        """Every non-empty plain value, for redacting text that might contain one."""
        values = [self.api_key, self.secret, self.password, self.uid]
        return tuple(v.get_secret_value() for v in values if v is not None and v.get_secret_value())


@dataclass(frozen=True, slots=True)
class _Kdf:
    salt: bytes
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    def fernet(self, passphrase: SecretStr) -> Fernet:
        key = Scrypt(salt=self.salt, length=32, n=self.n, r=self.r, p=self.p).derive(
            passphrase.get_secret_value().encode("utf-8")
        )
        return Fernet(base64.urlsafe_b64encode(key))


def resolve_passphrase(passphrase: str | SecretStr | None, *, path: Path) -> SecretStr:
    """The passphrase given, else ``$TAPEWIRE_KEYSTORE_PASSPHRASE``, else a prompt (tty)."""
    if isinstance(passphrase, SecretStr):
        value = passphrase.get_secret_value()
    elif passphrase is not None:
        value = passphrase
    else:
        value = os.environ.get(PASSPHRASE_ENV, "")
        if not value and sys.stdin.isatty():
            value = getpass.getpass(f"Passphrase for key store {path}: ")
    if not value:
        raise KeyStoreError(
            f"no passphrase for key store {path}",
            path=path,
            hint=f"set {PASSPHRASE_ENV} or run interactively to be prompted",
        )
    return SecretStr(value)


@dataclass(slots=True)
class KeyStore:
    """The decrypted content of one key-store file (in memory only)."""

    path: Path
    _kdf: _Kdf = field(repr=False)
    _fernet: Fernet = field(repr=False)
    _entries: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return f"KeyStore(path={str(self.path)!r}, accounts={self.accounts()!r})"

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        passphrase: str | SecretStr | None = None,
        *,
        scrypt_n: int = SCRYPT_N,
    ) -> KeyStore:
        """A new, empty store at ``path`` (written by :meth:`save`); refuses to overwrite."""
        target = Path(path)
        if target.exists():
            raise KeyStoreError(
                f"key store {target} already exists", path=target, hint="open it instead"
            )
        kdf = _Kdf(salt=os.urandom(16), n=scrypt_n)
        return cls(target, kdf, kdf.fernet(resolve_passphrase(passphrase, path=target)))

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], passphrase: str | SecretStr | None = None
    ) -> KeyStore:
        """Read and decrypt the store at ``path``."""
        target = Path(path)
        try:
            mode = target.stat().st_mode
            raw = target.read_bytes()
        except FileNotFoundError:
            raise KeyStoreError(
                f"key store {target} does not exist", path=target, hint="create it first"
            ) from None
        except OSError as exc:
            raise KeyStoreError(
                f"cannot read key store {target}: {exc.strerror}", path=target
            ) from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyStoreError(
                f"key store {target} is accessible by group or others (mode {mode & 0o777:o})",
                path=target,
                hint=f"chmod 600 {target}",
            )
        try:
            doc = orjson.loads(raw)
            if doc.get("format") != FORMAT:
                raise ValueError
            kdf = _Kdf(
                salt=base64.b64decode(doc["kdf"]["salt"]),
                n=int(doc["kdf"]["n"]),
                r=int(doc["kdf"]["r"]),
                p=int(doc["kdf"]["p"]),
            )
            token = str(doc["token"]).encode("ascii")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise KeyStoreError(f"{target} is not a {FORMAT} file", path=target) from None
        fernet = kdf.fernet(resolve_passphrase(passphrase, path=target))
        try:
            entries = orjson.loads(fernet.decrypt(token))
        except InvalidToken:
            raise KeyStoreError(
                f"cannot decrypt key store {target}",
                path=target,
                hint="wrong passphrase, or the file was modified",
            ) from None
        return cls(target, kdf, fernet, entries)

    def accounts(self) -> list[tuple[str, str]]:
        """The ``(venue, account)`` pairs stored (no secret values)."""
        return sorted((v, a) for v, accounts in self._entries.items() for a in accounts)

    def put(
        self,
        venue: str,
        account: str,
        *,
        api_key: str | SecretStr,
        secret: str | SecretStr,
        password: str | SecretStr | None = None,
        uid: str | SecretStr | None = None,
    ) -> None:
        """Add or replace a credential (in memory; :meth:`save` writes the file)."""

        def plain(value: str | SecretStr) -> str:
            return value.get_secret_value() if isinstance(value, SecretStr) else value

        entry = {"api_key": plain(api_key), "secret": plain(secret)}
        if password is not None:
            entry["password"] = plain(password)
        if uid is not None:
            entry["uid"] = plain(uid)
        self._entries.setdefault(venue, {})[account] = entry

    def remove(self, venue: str, account: str) -> None:
        """Forget a credential (in memory; :meth:`save` writes the file)."""
        self._entries.get(venue, {}).pop(account, None)

    def get(self, venue: str, account: str) -> Credentials:
        """The credentials of ``account`` on ``venue``."""
        entry: dict[str, Any] | None = self._entries.get(venue, {}).get(account)
        if entry is None:
            raise KeyStoreError(
                f"no credentials for venue {venue!r} account {account!r} in {self.path}",
                path=self.path,
                hint=f"stored: {self.accounts()}",
            )

        def opt(name: str) -> SecretStr | None:
            return SecretStr(entry[name]) if entry.get(name) is not None else None

        return Credentials(
            venue=venue,
            account=account,
            api_key=SecretStr(entry["api_key"]),
            secret=SecretStr(entry["secret"]),
            password=opt("password"),
            uid=opt("uid"),
        )

    def save(self) -> None:
        """Encrypt and write the store atomically, mode 0600."""
        token = self._fernet.encrypt(orjson.dumps(self._entries)).decode("ascii")
        doc = {
            "format": FORMAT,
            "kdf": {
                "name": "scrypt",
                "salt": base64.b64encode(self._kdf.salt).decode("ascii"),
                "n": self._kdf.n,
                "r": self._kdf.r,
                "p": self._kdf.p,
            },
            "cipher": "fernet",
            "token": token,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, self.path)
