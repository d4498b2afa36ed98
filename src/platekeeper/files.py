"""The installation's files on disk: private by default, checked at start-up, and where its keys are.

The database and its journals, images, keys and credentials hold plate data or secrets, so every entry point (the
command line's callback, the web app factory) sets the process umask to 0077: whatever the operator's shell or
service manager left, what platekeeper creates is 0600 (folders 0700). The start-up check then walks the data
folder (and the image folder and key files where they live elsewhere) and names, in one warning, what is still
readable by other users: files copied in by hand, folders made by an installer, installations from before the fix.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from platekeeper.config import Settings

__all__ = [
    "PRIVATE_DIR",
    "PRIVATE_FILE",
    "PRIVATE_UMASK",
    "KeyFile",
    "WideModes",
    "create_private_file",
    "key_files",
    "restrict_umask",
    "start_up_warning",
    "wide_modes",
    "write_private_text",
]

PRIVATE_UMASK = 0o077
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
OTHERS = 0o077  # group and other permission bits: any of them set is "wider than private"


def restrict_umask() -> None:
    """From now on, files this process creates are 0600 and folders 0700 (stricter bits already set are kept)."""
    current = os.umask(PRIVATE_UMASK)
    os.umask(current | PRIVATE_UMASK)


def create_private_file(path: Path) -> None:
    """Create an empty file 0600 (and its missing folders 0700) unless it exists; whatever the umask."""
    for parent in reversed([p for p in path.parents if not p.exists()]):
        parent.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def write_private_text(path: Path, text: str, *, append: bool = False) -> None:
    """Write (or append) text to a file that is 0600 from its first byte, not chmod-ed after the fact."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, PRIVATE_FILE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


@dataclass(frozen=True)
class KeyFile:
    """A key the installation reads from a file: what it is for, where it is, and how it is fingerprinted
    (``secret``: SHA-256 of the file; ``ed25519``: the public key's fingerprint)."""

    role: str
    path: Path
    kind: Literal["secret", "ed25519"]
    description: str


def key_files(settings: Settings) -> list[KeyFile]:
    """Every key file the configuration names. A new key gets one line here; the start-up check and the backup
    manifest (fingerprints, never the key) follow."""
    return [
        KeyFile(
            "audit_hmac",
            settings.data_dir / settings.audit.key_file,
            "secret",
            "HMAC key of the audit chain (audit.key_file); it also seals TOTP secrets",
        ),
        KeyFile(
            "signing",
            settings.data_path(settings.signing.key_file),
            "ed25519",
            "Ed25519 signing key of audit checkpoints (signing.key_file)",
        ),
        KeyFile(
            "storage",
            settings.data_path(settings.storage.key_file),
            "secret",
            "AES-256-GCM key ring sealing image files at rest (storage.key_file; PLATEKEEPER_STORAGE_KEY overrides)",
        ),
    ]


@dataclass(frozen=True)
class WideModes:
    """What the start-up check found: the first ``shown`` paths (with their modes) and how many in all."""

    named: list[tuple[Path, int]]
    total: int
    roots: list[Path]

    def message(self) -> str | None:
        """One warning naming them, or None when everything is private."""
        if not self.total:
            return None
        names = ", ".join(f"{path} ({mode:04o})" for path, mode in self.named)
        more = f", and {self.total - len(self.named)} more" if self.total > len(self.named) else ""
        fix = "; ".join(f"chmod -R go= {root}" for root in self.roots)
        return (
            f"{self.total} files or folders are readable by other users (files should be 0600, folders 0700): "
            f"{names}{more}. Fix with: {fix}"
        )


def _walk(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """root and everything under it, breadth first and sorted (a folder is named before its contents); symbolic
    links are reported, never followed."""
    queue = deque([root])
    yield root, root.stat()
    while queue:
        folder = queue.popleft()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            yield Path(entry.path), info
            if stat.S_ISDIR(info.st_mode):
                queue.append(Path(entry.path))


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path.resolve().is_relative_to(root.resolve()) for root in roots)


def wide_modes(settings: Settings) -> WideModes:
    """Key files, data_dir and (when it is elsewhere) the image folder: which entries are wider than private."""
    roots = [settings.data_dir]
    if not _inside(settings.resolved_image_dir, roots):
        roots.append(settings.resolved_image_dir)
    keys = [k.path for k in key_files(settings) if not _inside(k.path, roots)]
    candidates: list[Iterator[tuple[Path, os.stat_result]]] = [
        iter([(path, path.stat())]) for path in keys if path.is_file()
    ]
    candidates += [_walk(root) for root in roots if root.is_dir()]
    shown = settings.files.wide_names_shown
    named: list[tuple[Path, int]] = []
    total = 0
    for walk in candidates:
        for path, info in walk:
            mode = stat.S_IMODE(info.st_mode)
            if stat.S_ISLNK(info.st_mode) or not mode & OTHERS:
                continue
            total += 1
            if len(named) < shown:
                named.append((path, mode))
    return WideModes(named=named, total=total, roots=[*(r for r in roots if r.is_dir()), *{k.parent for k in keys}])


_checked: set[Path] = set()


def start_up_warning(settings: Settings) -> str | None:
    """The start-up check, once per data folder and process (the command line and the app it builds both ask):
    the warning naming what is wider than private, or None."""
    root = settings.data_dir.resolve()
    if root in _checked:
        return None
    _checked.add(root)
    return wide_modes(settings).message()
