"""Passwords: argon2id hashing and the rules a new password must pass (length, common and breached passwords).

The list of common passwords ships inside the package (``access/data/common-passwords.txt``, see the README there
for its source and licence); nothing is fetched at run time.
"""

from __future__ import annotations

import re
import secrets
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from platekeeper.config import PasswordHashConfig

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "PasswordRejected",
    "check_new_password",
    "common_passwords",
    "generate_password",
    "hash_password",
    "verify_password",
]

MAX_PASSWORD_LENGTH = 1024  # the forms' limit; argon2 copes with any length
_DECORATION = re.compile(r"^[^a-z]*(.*?)[^a-z]*$")


class PasswordRejected(ValueError):
    """The password breaks a rule; the message names it (and never echoes the password)."""


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common and breached passwords, lowercased."""
    text = resources.files("platekeeper.access").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line)


@lru_cache(maxsize=4)
def _hasher(cost: PasswordHashConfig) -> tuple[PasswordHasher, str]:
    """An argon2id hasher for these costs, and a dummy hash that equalizes timing for unknown usernames."""
    hasher = PasswordHasher(
        time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism, type=Type.ID
    )
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str, cost: PasswordHashConfig) -> str:
    """The argon2id hash to store."""
    return _hasher(cost)[0].hash(password)


def verify_password(stored_hash: str | None, password: str, cost: PasswordHashConfig) -> bool:
    """Whether the password matches; with no stored hash a dummy is checked so the timing gives nothing away."""
    hasher, dummy = _hasher(cost)
    try:
        return hasher.verify(stored_hash or dummy, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random password for a new account (20 characters, about 120 bits)."""
    return secrets.token_urlsafe(15)


def check_new_password(password: str, min_length: int, *, username: str = "", field: str = "password") -> None:
    """Refuse a password that is too short, too long, common or breached, or built from the username.

    Besides the list itself, a common password with digits or symbols around it (``Password2026!``) and a password
    of fewer than four distinct characters are refused: they are the first guesses of every cracking tool.
    """
    if len(password) < min_length:
        raise PasswordRejected(f"{field}: must be at least {min_length} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(f"{field}: must be at most {MAX_PASSWORD_LENGTH} characters")
    lowered = password.lower()
    core = _DECORATION.match(lowered)
    stripped = core.group(1) if core else lowered
    common = common_passwords()
    if lowered in common or (len(stripped) >= 4 and stripped in common):
        raise PasswordRejected(f"{field}: this is a common or breached password; choose another")
    if len(set(lowered)) < 4:
        raise PasswordRejected(f"{field}: uses too few different characters")
    if username and len(username) >= 3 and username.lower() in lowered:
        raise PasswordRejected(f"{field}: must not contain the username")
