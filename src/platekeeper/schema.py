"""Every table's model, gathered so that migrations and tests see the whole schema."""

from __future__ import annotations

from platekeeper.access.models import User, UserSession
from platekeeper.audit.models import AuditEvent
from platekeeper.cameras.models import Camera
from platekeeper.db import Base
from platekeeper.reads.jobs import RecognitionJob
from platekeeper.reads.models import PlateRead, StoredImage

__all__ = ["AuditEvent", "Base", "Camera", "PlateRead", "RecognitionJob", "StoredImage", "User", "UserSession"]
