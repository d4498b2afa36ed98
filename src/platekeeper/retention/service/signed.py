"""Signed JSON documents: purge certificates and evidence manifests, under the installation's Ed25519 key.

A document is ``{"document": {...}, "signature": {...}}``. The signature covers the canonical JSON of ``document``
(keys sorted, no spaces, UTF-8). Verifying checks the signature against the installation's public key (or one given
by the person checking), never only against the key the document carries: anyone can sign with a key of their own.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from platekeeper.audit.signing import InstallationKey, fingerprint_of, verify_signature

__all__ = ["DocumentInvalid", "canonical", "load_public_key", "sign_document", "verify_document"]


class DocumentInvalid(ValueError):
    """The file is not a signed document of the expected kind; the message says what is wrong."""


def canonical(value: Any) -> bytes:
    """The bytes a signature covers."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_document(key: InstallationKey, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its Ed25519 signature and the key that made it."""
    return {
        "document": document,
        "signature": {
            "algorithm": "Ed25519",
            "key": key.fingerprint,
            "public_key_pem": key.public_pem,
            "value": key.sign(canonical(document)),
            "covers": "canonical JSON of `document`: keys sorted, separators ',' and ':', UTF-8",
        },
    }


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM; :class:`DocumentInvalid` otherwise."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise DocumentInvalid(f"cannot be read as a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise DocumentInvalid("public key: is not an Ed25519 key")
    return key


def verify_document(signed: Any, kind: str, public: Ed25519PublicKey) -> list[str]:
    """What is wrong with ``signed`` (a parsed JSON value) as a signed document of ``kind`` under ``public``: an
    empty list when it is intact and signed by that key."""
    if not isinstance(signed, dict) or not isinstance(signed.get("document"), dict):
        return ["not a signed platekeeper document (no `document` object)"]
    document, signature = signed["document"], signed.get("signature")
    problems = []
    if document.get("type") != kind:
        problems.append(f"document type is {document.get('type')!r}, not {kind!r}")
    if not isinstance(signature, dict) or not isinstance(signature.get("value"), str):
        return [*problems, "no signature"]
    if signature.get("key") != fingerprint_of(public):
        problems.append(f"signed by {signature.get('key')}, not by the expected key {fingerprint_of(public)}")
    elif not verify_signature(public, signature["value"], canonical(document)):
        problems.append("the signature does not match the document: it was changed after signing")
    return problems
