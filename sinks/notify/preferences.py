"""The preferences file on disk: written atomically by the API, reloaded by the notifier.

One JSON file (:class:`~tapewire.streams.notify.preferences.PreferencesDocument`) named by
``[notifier] preferences_file``. A writer takes a lock (a thread lock and ``flock`` on
``<file>.lock``, so two API processes do not lose each other's change), reads the file,
changes one user, writes a temporary file in the same folder, fsyncs it and renames it
over the old one: a reader sees the old file or the new one, never half of either.
:meth:`PreferencesFile.reload` reads it again only when its (inode, mtime, size) changed,
which every rename does.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import ValidationError

from tapewire.core.errors import ConfigError
from tapewire.streams.notify.preferences import PreferencesDocument, UserChoice

_Signature = tuple[int, int, int]


class PreferencesFile:
    """Read, reload and change the preferences file at ``path`` (missing: no choices)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: _Signature | None = None
        self._read_once = False

    def read(self) -> PreferencesDocument:
        """The document now; :class:`ConfigError` naming the file and field if invalid."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return PreferencesDocument()
        try:
            return PreferencesDocument.model_validate_json(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(document)"
            raise ConfigError(
                f"{self.path}: {where}: {first['msg']}",
                field=where,
                value=str(self.path),
                hint="fix or remove the file; the API rewrites it on the next change",
            ) from None

    def reload(self) -> PreferencesDocument | None:
        """The document if the file changed since the last :meth:`reload` (or was never
        read), else None. An invalid file raises once, and again only after it changes."""
        signature = self._signature()
        if self._read_once and signature == self._seen:
            return None
        self._seen, self._read_once = signature, True
        return self.read()

    def update(self, user: str, choice: UserChoice | None) -> PreferencesDocument:
        """Set (None: remove) ``user``'s choice and write the file atomically."""
        with self._locked():
            document = self.read()
            users = dict(document.users)
            if choice is None:
                users.pop(user, None)
            else:
                users[user] = choice
            document = PreferencesDocument(users=dict(sorted(users.items())))
            self._write(document.model_dump_json(indent=2).encode() + b"\n")
            return document

    def _signature(self) -> _Signature | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(f"{self.path.name}.lock")
        with self._lock, open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _write(self, data: bytes) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, self.path)
