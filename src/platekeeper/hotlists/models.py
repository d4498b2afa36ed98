"""Hotlists and their entries. Each list has a kind from config, a source, a load time and a refresh cadence."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from platekeeper.db import Base, UTCDateTime, utcnow

__all__ = ["Hotlist", "HotlistEntry"]


class Hotlist(Base):
    """One list of plates of interest. ``revision`` grows with every change, so running matchers know to reload."""

    __tablename__ = "hotlists"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(200))
    refresh_hours: Mapped[int | None] = mapped_column(Integer, nullable=True)
    loaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)


class HotlistEntry(Base):
    """One plate on a list, with why it is there, the vehicle, who entered it and when it expires."""

    __tablename__ = "hotlist_entries"
    __table_args__ = (
        Index("ix_hotlist_entries_hotlist_plate", "hotlist_id", "plate"),
        Index("ix_hotlist_entries_plate", "plate"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hotlist_id: Mapped[int] = mapped_column(ForeignKey("hotlists.id", ondelete="CASCADE"))
    plate: Mapped[str] = mapped_column(String(16))
    state: Mapped[str | None] = mapped_column(String(8), nullable=True)
    kind: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(200), default="")
    nic: Mapped[str | None] = mapped_column(String(16), nullable=True)
    make: Mapped[str | None] = mapped_column(String(40), nullable=True)
    model: Mapped[str | None] = mapped_column(String(40), nullable=True)
    color: Mapped[str | None] = mapped_column(String(40), nullable=True)
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(16), default="import")  # import | officer
