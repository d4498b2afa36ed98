"""The installation's Ed25519 signing key: signs what must be checkable without trusting the database.

One key per installation (``signing.key_file``): audit checkpoints today; purge certificates, evidence and sharing
packages as they come. It is kept apart from the audit chain's HMAC key on purpose: the HMAC key seals events (so
anyone holding it can reseal a rewritten chain), while a signature made with this key can be checked by anyone
with the public key, and the key file can live on another volume than the database.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = ["InstallationKey", "SigningKeyError", "fingerprint_of", "verify_signature"]


class SigningKeyError(ValueError):
    """The signing key file is unreadable or not an Ed25519 private key; the message names the file."""


def _raw_public(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint_of(public: Ed25519PublicKey) -> str:
    """``ed25519:`` and the first 16 bytes of SHA-256 of the raw public key, in hex: how a key is named."""
    return "ed25519:" + hashlib.sha256(_raw_public(public)).hexdigest()[:32]


def verify_signature(public: Ed25519PublicKey, signature_b64: str, payload: bytes) -> bool:
    """Whether ``signature_b64`` (base64) is this key's signature of ``payload``."""
    try:
        public.verify(base64.b64decode(signature_b64, validate=True), payload)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True)
class InstallationKey:
    """The private key and how it is named."""

    private: Ed25519PrivateKey
    path: Path

    @classmethod
    def load_or_create(cls, path: Path) -> InstallationKey:
        """Read the PEM key file, creating it (mode 0600, folder 0700) the first time."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first: read theirs
                pass
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(pem)
                    handle.flush()
                    os.fsync(handle.fileno())
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError, TypeError) as exc:
            raise SigningKeyError(f"signing key {path}: cannot be read as a PEM private key ({exc})") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"signing key {path}: is not an Ed25519 key")
        return cls(private=key, path=path)

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.public)

    @property
    def public_pem(self) -> str:
        """The public key as PEM, for anyone who checks a signature outside platekeeper."""
        return self.public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def sign(self, payload: bytes) -> str:
        """The signature of ``payload``, base64."""
        return base64.b64encode(self.private.sign(payload)).decode()
