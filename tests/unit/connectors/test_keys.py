"""Encrypted key store: round trip, file mode, wrong passphrase, no secret in any text."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tapewire.connectors.orders.keys import PASSPHRASE_ENV, KeyStore, KeyStoreError

KEY = "CANARY-KEY-7f3a19c2e4"
SECRET = "CANARY-SECRET-b81d55aa07"
PASS = "correct horse battery staple"
FAST_N = 2**10  # scrypt cost for tests only


def _store(path: Path) -> KeyStore:
    store = KeyStore.create(path, PASS, scrypt_n=FAST_N)
    store.put("binance", "main", api_key=KEY, secret=SECRET, password="CANARY-PW-42")
    store.save()
    return store


def test_round_trip_and_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    _store(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = path.read_bytes()
    assert KEY.encode() not in raw
    assert SECRET.encode() not in raw
    assert b"CANARY" not in raw
    creds = KeyStore.open(path, PASS).get("binance", "main")
    assert creds.api_key.get_secret_value() == KEY
    assert creds.secret.get_secret_value() == SECRET
    assert creds.ccxt_config() == {"apiKey": KEY, "secret": SECRET, "password": "CANARY-PW-42"}
    assert KeyStore.open(path, PASS).accounts() == [("binance", "main")]


def test_no_secret_in_repr_str_or_errors(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    store = _store(path)
    creds = store.get("binance", "main")
    texts = [repr(creds), str(creds), repr(store), str(store), f"{creds}", repr(creds.api_key)]
    with pytest.raises(KeyStoreError) as missing:
        store.get("binance", "other")
    texts.append(str(missing.value))
    with pytest.raises(KeyStoreError) as wrong:
        KeyStore.open(path, "wrong passphrase")
    texts.append(str(wrong.value))
    assert "wrong passphrase" in str(wrong.value)
    for text in texts:
        assert "CANARY" not in text, text
        assert PASS not in text


def test_passphrase_from_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "keys.json"
    _store(path)
    monkeypatch.setenv(PASSPHRASE_ENV, PASS)
    assert KeyStore.open(path).get("binance", "main").api_key.get_secret_value() == KEY
    monkeypatch.delenv(PASSPHRASE_ENV)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(KeyStoreError, match=PASSPHRASE_ENV):
        KeyStore.open(path)


def test_refuses_group_readable_file_and_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    _store(path)
    os.chmod(path, 0o640)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        KeyStore.open(path, PASS)
    os.chmod(path, 0o600)
    with pytest.raises(KeyStoreError, match="already exists"):
        KeyStore.create(path, PASS)


def test_tampered_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    _store(path)
    text = path.read_text()
    token_at = text.index('"token": "') + len('"token": "') + 40
    flipped = "A" if text[token_at] != "A" else "B"
    path.write_text(text[:token_at] + flipped + text[token_at + 1 :])
    os.chmod(path, 0o600)
    with pytest.raises(KeyStoreError, match="cannot decrypt"):
        KeyStore.open(path, PASS)
