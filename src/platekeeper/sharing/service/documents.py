"""Request documents (the written request, 462.7a): a PDF or an image, checked like an upload and kept sealed.

An image goes through the same checks as a camera's upload (``reads.images.validate_image``: format, size,
pixels, decompression bombs, integrity). A PDF must start with the PDF signature (``%PDF-``), end with an
end-of-file marker and fit ``sharing.document_max_bytes``; anything else is refused. Documents are kept in their own
content-addressed store under ``sharing.package_dir/documents``, sealed with the image store's key ring.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from platekeeper.config import Settings
from platekeeper.reads.images import ImageRejected, ImageStore, ValidImage, validate_image
from platekeeper.sharing.service.common import SharingRefused

__all__ = ["RequestDocument", "check_document", "store_document"]

PDF = "application/pdf"


@dataclass(frozen=True)
class RequestDocument:
    data: bytes
    sha256: str
    media_type: str


def check_document(settings: Settings, data: bytes) -> RequestDocument:
    """The document if it is an acceptable PDF or image; :class:`SharingRefused` naming ``document`` otherwise."""
    limit = settings.sharing.document_max_bytes
    if not data:
        raise SharingRefused("document", "is empty: attach the written request (PDF or image)")
    if len(data) > limit:
        raise SharingRefused("document", f"is {len(data)} bytes; the limit is {limit} (sharing.document_max_bytes)")
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-1024:]:
            raise SharingRefused("document", "is a truncated PDF (no end-of-file marker)")
        return RequestDocument(data, hashlib.sha256(data).hexdigest(), PDF)
    try:
        image = validate_image(data, settings.ingest)
    except ImageRejected as exc:
        raise SharingRefused("document", f"must be a PDF or an image (JPEG, PNG or WebP): {exc}") from None
    return RequestDocument(data, image.sha256, image.media_type)


def store_document(store: ImageStore, document: RequestDocument) -> None:
    """Write the document to its store (sealed, atomically; a second copy of the same bytes is a no-op)."""
    store.put(ValidImage(data=document.data, sha256=document.sha256, media_type=document.media_type, width=0, height=0))
