"""The public face's service: the posted policy's versions (the only code touching ``policy_versions``) and the
transparency figures, cached for at most ``transparency.cache_minutes``.

A policy version is written when the policy generated from the running config differs from the newest stored one:
at start-up (``platekeeper serve``) and on every render of the policy, so a config change takes effect on the page
and in the versions together. The version is the document's SHA-256; going back to an earlier config makes a new
version (with its own effective date) that reads like the earlier one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from platekeeper.audit.events import PolicyVersionRecorded
from platekeeper.audit.service import Actor
from platekeeper.audit.work import Work
from platekeeper.config import Settings
from platekeeper.db import utcnow
from platekeeper.transparency.figures import AuditReports, transparency_figures
from platekeeper.transparency.models import PolicyVersion
from platekeeper.transparency.policy import document_sha256, policy_document

__all__ = [
    "PublicFace",
    "VersionNotFound",
    "changed_sections",
    "current_policy",
    "draft_policy",
    "policy_version",
    "policy_versions",
]


class VersionNotFound(LookupError):
    """No policy version with that number."""


def _newest(work: Work) -> PolicyVersion | None:
    return work.session.scalars(select(PolicyVersion).order_by(PolicyVersion.number.desc()).limit(1)).first()


def current_policy(work: Work) -> PolicyVersion:
    """The version of the policy the running config makes, written (and audited, by the system) when it differs
    from the newest stored one. Two processes writing the same new version at once: the second finds the first's."""
    document = policy_document(work.settings)
    digest = document_sha256(document)
    newest = _newest(work)
    if newest is not None and newest.sha256 == digest:
        return newest
    version = PolicyVersion(
        number=newest.number + 1 if newest else 1, sha256=digest, effective_at=utcnow(), document=document
    )
    try:
        with work.session.begin_nested():
            work.session.add(version)
    except IntegrityError:
        newest = _newest(work)
        if newest is not None and newest.sha256 == digest:
            return newest
        raise
    work.as_(Actor.system("policy")).record(PolicyVersionRecorded(number=version.number, sha256=digest))
    return version


def draft_policy(work: Work, settings: Settings) -> tuple[PolicyVersion, PolicyVersion | None]:
    """The version ``settings`` (a candidate config) would post, never stored, and the newest stored version: the
    administrator's preview of the policy before a config change goes live."""
    document = policy_document(settings)
    newest = _newest(work)
    draft = PolicyVersion(
        number=newest.number + 1 if newest else 1,
        sha256=document_sha256(document),
        effective_at=utcnow(),
        document=document,
    )
    return draft, newest


def changed_sections(draft: PolicyVersion, newest: PolicyVersion | None) -> list[str]:
    """The titles of the draft's sections that differ from the newest version's (all of them when none is stored)."""
    before = {s["key"]: s for s in newest.document["sections"]} if newest else {}
    return [s["title"] for s in draft.document["sections"] if before.get(s["key"]) != s]


def policy_versions(work: Work) -> list[PolicyVersion]:
    """Every stored version, newest first."""
    return list(work.session.scalars(select(PolicyVersion).order_by(PolicyVersion.number.desc())))


def policy_version(work: Work, number: int) -> PolicyVersion:
    """One stored version by its number."""
    version = work.session.get(PolicyVersion, number)
    if version is None:
        raise VersionNotFound(f"no policy version {number}")
    return version


@dataclass
class PublicFace:
    """One installation's public face: where the last audits come from (the audits domain's provider, handed in by
    the composition root; None until it exists) and the cached figures of the transparency page."""

    audits: AuditReports | None = None
    clock: Callable[[], float] = time.monotonic
    _cached: tuple[float, dict[str, Any]] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def figures(self, work: Work, *, fresh: bool = False) -> dict[str, Any]:
        """The transparency figures, computed again once ``transparency.cache_minutes`` have passed (``fresh``:
        now, and not kept: the administrator's preview)."""
        if fresh:
            return self._compute(work)
        ttl = work.settings.transparency.cache_minutes * 60
        with self._lock:
            cached = self._cached
            if cached is not None and self.clock() - cached[0] < ttl:
                return cached[1]
            figures = self._compute(work)
            self._cached = (self.clock(), figures)
            return figures

    def _compute(self, work: Work) -> dict[str, Any]:
        figures = transparency_figures(work, self.audits)
        version = current_policy(work)
        figures["policy"] = {
            "url": "/policy",
            "version": version.number,
            "effective_at": version.effective_at.isoformat(),
        }
        return figures
