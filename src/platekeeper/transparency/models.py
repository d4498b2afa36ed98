"""The posted policy's versions: each distinct policy the running config produced, with the day it took effect."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from platekeeper.db import Base, UTCDateTime, utcnow

__all__ = ["PolicyVersion"]


class PolicyVersion(Base):
    """One version of the posted policy: the document (every statement the page makes, as data) and its digest.

    A new row is written when the policy generated from the running config differs from the newest row's document
    (a config change that alters what the policy says); rows are never changed, so every older version stays
    readable as it was posted."""

    __tablename__ = "policy_versions"

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sha256: Mapped[str] = mapped_column(String(64))
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
