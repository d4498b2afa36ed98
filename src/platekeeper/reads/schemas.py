"""The shapes of reads as cameras send them and as searches return them."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "CandidateIn",
    "ImageBatchIn",
    "ImageIn",
    "ImageRef",
    "IngestItemOut",
    "IngestReport",
    "ReadBatchIn",
    "ReadIn",
    "normalize_plate",
]

MAX_PLATE_LENGTH = 12


def normalize_plate(text: str) -> str:
    """Plate text as stored and matched: A-Z and 0-9 only, uppercase."""
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def _checked_plate(value: str) -> str:
    normalized = normalize_plate(value)
    if not normalized:
        raise ValueError("plate has no letters or digits")
    if len(normalized) > MAX_PLATE_LENGTH:
        raise ValueError(f"plate has more than {MAX_PLATE_LENGTH} letters and digits")
    return value


class CandidateIn(BaseModel):
    """An alternative reading of the plate."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=32)
    confidence: float = Field(ge=0.0, le=1.0)

    @field_validator("text")
    @classmethod
    def _normalized(cls, value: str) -> str:
        return normalize_plate(_checked_plate(value))


class ImageRef(BaseModel):
    """An image sent inline (base64) or as a named part of a multipart request."""

    model_config = ConfigDict(extra="forbid")

    base64: str | None = Field(None, description="The image bytes, base64-encoded.")
    part: str | None = Field(None, max_length=100, description="Name of the multipart file part holding the image.")

    @model_validator(mode="after")
    def _exactly_one(self) -> ImageRef:
        if (self.base64 is None) == (self.part is None):
            raise ValueError("give exactly one of 'base64' or 'part'")
        return self


class ReadIn(BaseModel):
    """One read in an upload batch."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID = Field(description="Chosen by the camera; sending the same id again stores nothing new.")
    plate: str | None = Field(
        None,
        min_length=1,
        max_length=32,
        description="Plate text, stored normalized to A-Z0-9. Leave it out to have the server read the image.",
    )
    plate_raw: str | None = Field(None, max_length=64, description="The raw OCR string; defaults to plate.")
    confidence: float | None = Field(None, ge=0.0, le=1.0, description="OCR confidence, 0 to 1 (with plate).")
    candidates: list[CandidateIn] | None = Field(
        None, max_length=10, description="Other readings the camera considered, best first."
    )
    captured_at: AwareDatetime = Field(description="When the image was taken, ISO 8601 with a timezone.")
    region: str | None = Field(
        None,
        max_length=16,
        pattern=r"^[a-z]{2}(-[a-z0-9]{1,3})?$",
        description="Jurisdiction such as 'us-ca', when known.",
    )
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    heading: Annotated[float, Field(ge=0, lt=360)] | None = Field(None, description="Degrees from north.")
    crop_image: ImageRef | None = Field(None, description="The plate crop.")
    overview_image: ImageRef | None = Field(None, description="The whole scene.")

    @field_validator("plate")
    @classmethod
    def _plate_has_characters(cls, value: str | None) -> str | None:
        return None if value is None else _checked_plate(value)

    @model_validator(mode="after")
    def _plate_or_image(self) -> ReadIn:
        if self.plate is None:
            if self.overview_image is None and self.crop_image is None:
                raise ValueError("plate: give the plate text, or an image for the server to read")
        elif self.confidence is None:
            raise ValueError("confidence: required with the plate text")
        return self

    @property
    def needs_recognition(self) -> bool:
        """No plate text was sent: the server reads the image."""
        return self.plate is None

    @property
    def normalized_plate(self) -> str:
        return normalize_plate(self.plate or "")


class ReadBatchIn(BaseModel):
    """The body of ``POST /api/v1/reads`` as documented; ingest checks each read alone (``ReadIn``)."""

    reads: list[ReadIn] = Field(description="The reads, each judged alone.")


class ImageIn(BaseModel):
    """One image for the server to read (``POST /api/v1/images``)."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID = Field(description="Chosen by the camera; sending the same id again queues nothing new.")
    captured_at: AwareDatetime = Field(description="When the image was taken, ISO 8601 with a timezone.")
    image: ImageRef
    latitude: Annotated[float, Field(ge=-90, le=90)] | None = None
    longitude: Annotated[float, Field(ge=-180, le=180)] | None = None
    heading: Annotated[float, Field(ge=0, lt=360)] | None = None


class ImageBatchIn(BaseModel):
    """The body of ``POST /api/v1/images`` as documented."""

    images: list[ImageIn] = Field(description="The images, each judged alone.")


class IngestItemOut(BaseModel):
    """What became of one read or image of a batch."""

    index: int
    id: str | None
    status: Literal["stored", "queued", "duplicate", "rejected"]
    reason: str | None = None


class IngestReport(BaseModel):
    """The answer to an upload: counts, then each item in the order sent."""

    stored: int
    queued: int
    duplicates: int
    rejected: int
    results: list[IngestItemOut]
