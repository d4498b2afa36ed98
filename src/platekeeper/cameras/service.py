"""Registering cameras and checking their API keys. Keys are random, shown once, and stored as SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from platekeeper.audit.events import CameraCreated, CameraDeactivated, CameraKeyRotated
from platekeeper.audit.work import Work
from platekeeper.cameras.models import CAMERA_KINDS, Camera
from platekeeper.config import CamerasConfig
from platekeeper.db import utcnow

__all__ = [
    "CameraError",
    "authenticate_camera",
    "camera_state",
    "create_camera",
    "deactivate_camera",
    "list_cameras",
    "record_upload",
    "rotate_camera_key",
    "silent_cameras",
]

KEY_PREFIX = "pkc_"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .,_#/&()-]{0,79}$")


class CameraError(ValueError):
    """A camera request that breaks a rule; the message names the field."""


def _new_key() -> tuple[str, str, str]:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[: len(KEY_PREFIX) + 6], hashlib.sha256(key.encode()).hexdigest()


def _validate(session: Session, name: str, kind: str, latitude: float | None, longitude: float | None) -> None:
    if not NAME_RE.fullmatch(name):
        raise CameraError("name: 1-80 letters, digits, spaces or . , _ # / & ( ) -, starting with a letter or digit")
    if kind not in CAMERA_KINDS:
        raise CameraError(f"kind: must be one of {', '.join(CAMERA_KINDS)} (a vehicle unit is 'mobile')")
    if latitude is not None and not -90 <= latitude <= 90:
        raise CameraError("latitude: must lie between -90 and 90")
    if longitude is not None and not -180 <= longitude <= 180:
        raise CameraError("longitude: must lie between -180 and 180")
    if session.scalar(select(Camera.id).where(Camera.name == name)) is not None:
        raise CameraError(f"name: a camera named {name!r} already exists")


def create_camera(
    work: Work,
    *,
    name: str,
    kind: str,
    location: str = "",
    latitude: float | None = None,
    longitude: float | None = None,
) -> tuple[Camera, str]:
    """Register a camera; return it with its API key, which is never shown again. Audited."""
    name, session = name.strip(), work.session
    _validate(session, name, kind, latitude, longitude)
    api_key, prefix, digest = _new_key()
    camera = Camera(
        name=name,
        kind=kind,
        location=location.strip(),
        latitude=latitude,
        longitude=longitude,
        key_prefix=prefix,
        key_hash=digest,
        active=True,
    )
    session.add(camera)
    session.flush()
    work.record(CameraCreated(camera_id=camera.id, name=name, kind=kind, key_prefix=prefix))
    return camera, api_key


def rotate_camera_key(work: Work, camera_id: int) -> str:
    """Replace a camera's API key (the old one stops working at once); return the new key. Audited."""
    camera = work.session.get(Camera, camera_id)
    if camera is None:
        raise CameraError(f"camera: no camera with id {camera_id}")
    api_key, camera.key_prefix, camera.key_hash = _new_key()
    work.record(CameraKeyRotated(camera_id=camera.id, name=camera.name, key_prefix=camera.key_prefix))
    return api_key


def deactivate_camera(work: Work, camera_id: int) -> Camera:
    """Stop accepting uploads from a camera. Audited."""
    camera = work.session.get(Camera, camera_id)
    if camera is None:
        raise CameraError(f"camera: no camera with id {camera_id}")
    camera.active = False
    work.record(CameraDeactivated(camera_id=camera.id, name=camera.name))
    return camera


def authenticate_camera(session: Session, api_key: str | None) -> Camera | None:
    """The active camera holding this API key, or None."""
    if not api_key or not api_key.startswith(KEY_PREFIX):
        return None
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    camera = session.scalar(select(Camera).where(Camera.key_hash == digest))
    if camera is None or not camera.active:
        return None
    camera.last_seen_at = utcnow()
    return camera


def record_upload(camera: Camera) -> None:
    """A camera's upload was stored: its last upload is now (what the health check reads)."""
    camera.last_seen_at = utcnow()


def camera_state(camera: Camera, config: CamerasConfig, now: datetime) -> str:
    """``inactive``, ``silent`` (active, but nothing uploaded for longer than its kind's limit, or never since it
    was registered that long ago) or ``active``."""
    if not camera.active:
        return "inactive"
    minutes = config.mobile_silent_after_minutes if camera.kind == "mobile" else config.silent_after_minutes
    last = camera.last_seen_at or camera.created_at
    return "silent" if now - last > timedelta(minutes=minutes) else "active"


def silent_cameras(cameras: Iterable[Camera], config: CamerasConfig, now: datetime) -> list[Camera]:
    """Of these cameras (the caller has them already), the active ones that have gone silent, longest first."""
    silent = [c for c in cameras if camera_state(c, config, now) == "silent"]
    return sorted(silent, key=lambda c: c.last_seen_at or c.created_at)


def list_cameras(session: Session) -> list[Camera]:
    """Every camera, by name."""
    return list(session.scalars(select(Camera).order_by(Camera.name)))
