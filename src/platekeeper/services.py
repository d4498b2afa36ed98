"""The composition root: the one place that builds what a running platekeeper shares.

``build_services(settings, database)`` makes the keys, the image store, the rate limits, the hotlist matcher, the
alert runtime and the hooks that join the domains: after reads are stored (hotlist matching, alerts) and after a
hotlist import (the matcher's reload and the historical-hit search). The web app (``create_app``), the command line
(``serve``, ``worker run``, ``hotlists refresh-watch``) and the benchmarks all build their services here, so no
domain reaches up for another: hotlists never import alerts, they call the hooks they are given.

Layer order (imports only go down; ``tests/test_layers.py`` checks it and that there is no cycle):
recognition; then permissions, config, db, files, rate_limits; then access, audit, storage (keys and sealing);
then guards and notices (the checks inside every door to plate data, the notices they raise); then cameras, reads
(and storage's rotation, which walks the image store, and retention's models and read-time floor); then hotlists;
then alerts; then plates; then retention (holds, the purge, evidence); then sharing (462.7); then audits (the
system audits of 462.6(c)); then transparency (the posted policy and the public figures, read from the domains
below); then this module; then the web layer (web/, every domain's api.py and pages.py) and the command line
(cli.py, cli_support.py, every domain's cli.py), demo, backup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from platekeeper.alerts.runtime import AlertRuntime
from platekeeper.audit.checkpoints import CheckpointSchedule
from platekeeper.audit.service import Actor, load_or_create_key
from platekeeper.audit.signing import InstallationKey
from platekeeper.audit.work import Work
from platekeeper.audits.schedule import AuditSchedule
from platekeeper.audits.service import count_closed_audits_due, dispose_closed_audits
from platekeeper.config import Settings
from platekeeper.db import Database
from platekeeper.guards.verification import VerificationSchedule
from platekeeper.hotlists.runtime import AfterImport, HotlistMatcher
from platekeeper.rate_limits import RateLimits
from platekeeper.reads.images import ImageStore
from platekeeper.reads.ingest import AfterIngest
from platekeeper.retention.schedule import PurgeSchedule
from platekeeper.retention.service import Disposal, Purger
from platekeeper.sharing.service import count_expired_requests, dispose_expired_requests
from platekeeper.transparency.figures import ApprovedAudits, AuditReports
from platekeeper.transparency.service import PublicFace

if TYPE_CHECKING:
    from platekeeper.reads.worker import RecognitionWorker

__all__ = ["Services", "build_services"]


@dataclass
class Services:
    """What one running installation shares between requests, commands and background work."""

    settings: Settings
    database: Database
    audit_key: bytes
    signing_key: InstallationKey
    image_store: ImageStore
    rate_limits: RateLimits  # in memory: a fresh set of services (each test's app) starts from zero
    matcher: HotlistMatcher
    alerting: AlertRuntime
    documents: ImageStore  # sharing request documents: their own folder, sealed with the image store's key ring
    public_face: PublicFace  # the posted policy's versions and the transparency page's cached figures
    after_ingest: list[AfterIngest] = field(default_factory=list)  # in the transaction that stored the reads
    after_import: list[AfterImport] = field(default_factory=list)  # in the transaction of a hotlist import

    def work(self, session: Session, actor: Actor) -> Work:
        """The unit of audited work for one transaction of this installation, done by ``actor``."""
        return Work(session, self.settings, self.audit_key, actor)

    def recognition_worker(self) -> RecognitionWorker:
        """A worker for the server-side recognition queue, running the same after-ingest hooks as uploads."""
        # here, not at the top: the worker brings opencv and onnxruntime, which no other command needs to load
        from platekeeper.reads.worker import RecognitionWorker

        return RecognitionWorker(self.settings, self.database, self.image_store, self.after_ingest)

    def purger(self) -> Purger:
        """The retention purge (462.9) for this installation: ``platekeeper purge`` and the daily schedule."""
        documents = self.documents

        def sharing(work: Work, today: date, limit: int) -> int:
            return dispose_expired_requests(work, documents, today, limit)

        disposals = {
            "sharing_requests": Disposal(count_expired_requests, sharing),
            "system_audits": Disposal(count_closed_audits_due, dispose_closed_audits),
        }
        return Purger(self.settings, self.database, self.audit_key, self.signing_key, self.image_store, disposals)

    def purge_schedule(self) -> PurgeSchedule:
        """The daily purge at ``retention.purge_time`` (started by ``serve`` when ``retention.purge_in_server``)."""
        return PurgeSchedule(self.purger())

    def audit_schedule(self) -> AuditSchedule:
        """Each ended period's system audit, scheduled and run at ``audits.run_time`` (started by ``serve`` when
        ``audits.run_in_server``)."""
        return AuditSchedule(self.settings, self.database, self.audit_key, self.signing_key)

    def checkpoint_schedule(self) -> CheckpointSchedule:
        """The audit chain's signed checkpoints every ``audit.checkpoint_minutes`` (started by ``serve``)."""
        return CheckpointSchedule(self.settings, self.database, self.audit_key, self.signing_key)

    def verification_schedule(self) -> VerificationSchedule:
        """The audit chain's verification every ``guards.verify_hours`` (started by ``serve``): a failure raises a
        breach notice."""
        return VerificationSchedule(self.settings, self.database, self.audit_key, self.signing_key)


def build_services(
    settings: Settings, database: Database | None = None, audit_reports: AuditReports | None = None
) -> Services:
    """Build and join the services for these settings (and database, which tests and commands pass in).
    ``audit_reports`` is where the transparency page finds the last system audits: by default the approved ones
    of the audits domain (a test may hand in its own)."""
    database = database or Database(settings.resolved_database_url, batch_size=settings.query_batch_size)
    audit_key = load_or_create_key(settings.data_dir / settings.audit.key_file)
    matcher = HotlistMatcher(database, settings.matching)
    alerting = AlertRuntime(settings, database, audit_key, matcher)
    images = ImageStore.for_settings(settings)
    documents = ImageStore(settings.resolved_documents_dir, images.ring, encrypt=images.encrypt)
    return Services(
        settings=settings,
        database=database,
        audit_key=audit_key,
        signing_key=InstallationKey.load_or_create(settings.data_path(settings.signing.key_file)),
        image_store=images,
        rate_limits=RateLimits(settings.rate_limits),
        matcher=matcher,
        alerting=alerting,
        documents=documents,
        public_face=PublicFace(audits=audit_reports or ApprovedAudits()),
        after_ingest=[alerting.after_ingest],  # hotlist matching raises alerts, pushed once the reads commit
        after_import=[alerting.after_import],  # reload the matcher, then search past reads for the new plates
    )
