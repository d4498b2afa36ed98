"""TOTP multi-factor authentication (RFC 6238) and one-time recovery codes.

Pure helpers: secrets (stored encrypted with AES-256-GCM under a key derived from the key file outside the
database), the enrolment URI and its QR code (SVG, drawn by segno), checking a code with a small drift window and
refusing replays of an already used time step, and recovery codes (80 random bits each, stored as SHA-256). The
account changes that use them live in :mod:`platekeeper.access.signin` and :mod:`platekeeper.access.lifecycle`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

import pyotp
import segno
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "TOTP_STEP_SECONDS",
    "generate_recovery_codes",
    "hash_recovery_code",
    "matching_step",
    "new_totp_secret",
    "normalize_code",
    "open_secret",
    "provisioning_uri",
    "qr_svg",
    "seal_secret",
]

TOTP_STEP_SECONDS = 30  # RFC 6238 default; what every authenticator app uses
SEALED_PREFIX = "v1:"


def _secret_key(key: bytes) -> bytes:
    """The AES-256 key for TOTP secrets, derived from the key kept outside the database (domain-separated)."""
    return hmac.new(key, b"platekeeper totp secret encryption v1", hashlib.sha256).digest()


def seal_secret(key: bytes, secret: str) -> str:
    """Encrypt a TOTP secret for storage (AES-256-GCM): a copy of the database alone cannot produce codes."""
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(_secret_key(key)).encrypt(nonce, secret.encode(), b"totp")
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def open_secret(key: bytes, stored: str) -> str:
    """The TOTP secret from its stored, encrypted form."""
    raw = base64.urlsafe_b64decode(stored.removeprefix(SEALED_PREFIX))
    return AESGCM(_secret_key(key)).decrypt(raw[:12], raw[12:], b"totp").decode()


def new_totp_secret() -> str:
    """A new random base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code, dark on white so phones read it on the dark theme too."""
    return str(segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff", border=4))


def normalize_code(code: str | None) -> str:
    """A typed code without spaces or dashes, lowercased (recovery codes are shown with dashes)."""
    return "".join((code or "").split()).replace("-", "").lower()


def matching_step(
    secret: str, code: str, last_step: int | None, drift_steps: int, now: float | None = None
) -> int | None:
    """The time step a 6-digit code belongs to, or None if it matches none in the window or was already used."""
    code = normalize_code(code)
    if len(code) != 6 or not (code.isascii() and code.isdigit()):  # Arabic-Indic, full-width... are digits too
        return None
    totp = pyotp.TOTP(secret)
    current = int((now if now is not None else time.time()) // TOTP_STEP_SECONDS)
    for step in range(current - drift_steps, current + drift_steps + 1):
        if secrets.compare_digest(totp.at(step * TOTP_STEP_SECONDS), code):
            return None if last_step is not None and step <= last_step else step
    return None


def generate_recovery_codes(count: int) -> list[str]:
    """``count`` new recovery codes shown as ``xxxx-xxxx-xxxx-xxxx`` (base32, 80 bits)."""
    codes = []
    for _ in range(count):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def hash_recovery_code(code: str) -> str:
    """What is stored for a recovery code."""
    return hashlib.sha256(normalize_code(code).encode()).hexdigest()
