"""What the guards count: one row per access to plate data they watch (a search page, a plate's story).

No plate is kept here: only who, when, whether the search named a plate, how many results were shown and matched,
and digests of the context and of the justification, so that each rule's count is one indexed query rather than a
scan of the audit log's JSON.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from platekeeper.db import Base, UTCDateTime, utcnow

__all__ = ["SearchActivity"]


class SearchActivity(Base):
    """One access watched by the guards, written in the access's own transaction."""

    __tablename__ = "search_activity"
    __table_args__ = (
        Index("ix_search_activity_user_at", "username", "at"),
        Index("ix_search_activity_context_at", "context_key", "at"),
        Index("ix_search_activity_justification", "username", "justification_digest", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(32))  # reads.search, plates.story
    plate_less: Mapped[bool] = mapped_column(Boolean)
    page: Mapped[int] = mapped_column(Integer)
    shown: Mapped[int] = mapped_column(Integer)  # results on the page the user saw
    total: Mapped[int] = mapped_column(Integer)  # results the query matched
    context_key: Mapped[str] = mapped_column(String(64))  # SHA-256 of user, purpose, case number, justification
    justification_digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the justification, words lowercased
    case_number: Mapped[str] = mapped_column(String(64))
