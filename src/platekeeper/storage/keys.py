"""The storage key ring: the AES-256 keys that seal files holding plate data, the last one current.

The ring is a small file (``storage.key_file``, mode 0600, created at first use): one ``<id> <base64 key>`` line
per key, oldest first. A key's id is the first 8 hex digits of the SHA-256 of the key; a sealed file names the id
of the key it was sealed under. ``PLATEKEEPER_STORAGE_KEY`` (base64 of 32 bytes) overrides the current key: it is
then the key new files are sealed under, and the file's keys (when the file exists) still open older files.

The file is only ever replaced whole (temp file, fsync, rename, fsync of the folder), so a ``kill -9`` at any
moment leaves either the old ring or the new one, and a rotation adds its new key before it touches any file and
drops the old keys only after every file is under the new one. A process that holds a ring notices a replaced
file (by its inode, size and modification time) at its next use, so a running server seals under a key added by
``platekeeper keys rotate`` and opens files it re-sealed.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from platekeeper.config import ConfigError, Settings

__all__ = [
    "KEY_BYTES",
    "KEY_ENV",
    "KeyRing",
    "StorageKey",
    "StorageKeyError",
    "env_key",
    "key_ring_for",
    "read_key_ring",
    "write_key_ring",
]

KEY_ENV = "PLATEKEEPER_STORAGE_KEY"
KEY_BYTES = 32  # AES-256


class StorageKeyError(ConfigError):
    """The storage key (file or environment variable) is unusable; the message names where it came from."""


@dataclass(frozen=True)
class StorageKey:
    """One AES-256 key and its short id."""

    id: str
    secret: bytes = b""

    @classmethod
    def from_secret(cls, secret: bytes) -> StorageKey:
        return cls(id=hashlib.sha256(secret).hexdigest()[:8], secret=secret)

    @classmethod
    def generate(cls) -> StorageKey:
        return cls.from_secret(secrets.token_bytes(KEY_BYTES))

    def line(self) -> str:
        return f"{self.id} {base64.b64encode(self.secret).decode()}\n"

    def __repr__(self) -> str:  # never the secret, in a traceback or a log
        return f"StorageKey(id={self.id!r})"


def _decode(text: str, where: str) -> StorageKey:
    try:
        secret = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise StorageKeyError(f"{where}: not base64 (it must be base64 of {KEY_BYTES} random bytes)") from None
    if len(secret) != KEY_BYTES:
        raise StorageKeyError(f"{where}: holds {len(secret)} bytes; an AES-256 key is {KEY_BYTES} bytes (base64)")
    return StorageKey.from_secret(secret)


def env_key(environ: dict[str, str] | os._Environ[str] = os.environ) -> StorageKey | None:
    """The key ``PLATEKEEPER_STORAGE_KEY`` holds, None when unset; a bad value is a :class:`StorageKeyError`."""
    value = environ.get(KEY_ENV)
    return None if value is None else _decode(value, KEY_ENV)


def read_key_ring(path: Path) -> list[StorageKey]:
    """The keys of a ring file, oldest first; each line's id must match its key."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise StorageKeyError(f"storage key file {path}: cannot be read ({exc})") from None
    keys = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise StorageKeyError(f"storage key file {path}, line {number}: expected `<id> <base64 key>`")
        key = _decode(parts[1], f"storage key file {path}, line {number}")
        if key.id != parts[0]:
            raise StorageKeyError(f"storage key file {path}, line {number}: the id {parts[0]} is not this key's")
        keys.append(key)
    return keys


def write_key_ring(path: Path, keys: list[StorageKey], *, exclusive: bool = False) -> None:
    """Replace the ring file whole (0600 temp file, fsync, rename, fsync of the folder). ``exclusive``: create it,
    leaving a file another process made first in place."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # mkstemp files are 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write("".join(key.line() for key in keys))
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        else:
            os.replace(tmp, path)
        _fsync_folder(path.parent)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class KeyRing:
    """The keys that open sealed files, and the current one that seals new files.

    Nothing is read or created until first use: the file is created (one new key) the first time a file is sealed.
    A bad ``PLATEKEEPER_STORAGE_KEY`` is refused at once, so a server does not start with it.
    """

    def __init__(self, path: Path, override: StorageKey | None = None) -> None:
        self.path = path
        self.override = override
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._file_keys: list[StorageKey] = []

    def _refresh(self) -> None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            self._stamp, self._file_keys = None, []
            return
        stamp = (info.st_ino, info.st_size, info.st_mtime_ns)
        if stamp != self._stamp:
            self._file_keys, self._stamp = read_key_ring(self.path), stamp

    def keys(self) -> list[StorageKey]:
        """Every key, oldest first, the current one last (the environment's key, when set, is current)."""
        with self._lock:
            self._refresh()
            keys = list(self._file_keys)
        if self.override is not None:
            keys = [k for k in keys if k.id != self.override.id] + [self.override]
        return keys

    @property
    def file_keys(self) -> list[StorageKey]:
        """The keys the ring file holds (without the environment's key)."""
        with self._lock:
            self._refresh()
            return list(self._file_keys)

    def current(self) -> StorageKey:
        """The key new files are sealed under, creating the ring file at first use."""
        keys = self.keys()
        if keys:
            return keys[-1]
        if self.path.exists():
            raise StorageKeyError(
                f"storage key file {self.path} holds no key; set {KEY_ENV}, or remove the empty file to create one"
            )
        write_key_ring(self.path, [StorageKey.generate()], exclusive=True)  # another process's, if it won
        return self.keys()[-1]

    def find(self, key_id: str) -> StorageKey | None:
        """The key with this id, or None when the ring (re-read if the file changed) does not hold it."""
        return next((k for k in self.keys() if k.id == key_id), None)

    def add_new_key(self) -> StorageKey:
        """Append a new key to the ring file (now current); the older keys stay to open the files sealed under them."""
        if self.override is not None:
            raise StorageKeyError(f"the current key comes from {KEY_ENV}; a new key goes there, not in {self.path}")
        self.current()  # the file exists, with at least one key
        key = StorageKey.generate()
        write_key_ring(self.path, [*self.file_keys, key])
        return key

    def retire_old_keys(self) -> list[StorageKey]:
        """Drop every key but the current one from the ring file; only once no file is sealed under them."""
        current = self.current()
        kept = [current] if self.override is None else []
        retired = [k for k in self.file_keys if k.id != current.id]
        if retired:
            write_key_ring(self.path, kept)
        return retired


def key_ring_for(settings: Settings) -> KeyRing:
    """The installation's key ring: ``storage.key_file`` (relative to data_dir unless absolute), and
    ``PLATEKEEPER_STORAGE_KEY`` over it. Raises :class:`StorageKeyError` (a config error) for a bad variable."""
    return KeyRing(settings.data_path(settings.storage.key_file), env_key())
