"""The recognition worker: reads queued images off the request path and stores the plates it finds.

It runs inside ``platekeeper serve`` (a background thread, by default) or alone as ``platekeeper worker``. The
engine is loaded on the first job, so a server whose cameras read plates themselves never pays for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from platekeeper.config import Settings
from platekeeper.db import Database
from platekeeper.reads.images import ImageStore
from platekeeper.reads.ingest import AfterIngest
from platekeeper.reads.queue import ClaimedJob, claim_job, complete_job, fail_job
from platekeeper.recognition.base import RecognizedPlate
from platekeeper.recognition.imageio import ImageError, decode_image
from platekeeper.recognition.pipeline import PlatePipeline

__all__ = ["RecognitionWorker"]

log = logging.getLogger("platekeeper.worker")


class RecognitionWorker:
    """Claims one job at a time, reads its image with the plate pipeline and stores the reads."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        store: ImageStore,
        after_stored: Sequence[AfterIngest] = (),
        pipeline: PlatePipeline | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.store = store
        self.after_stored = list(after_stored)
        self._pipeline = pipeline

    @property
    def pipeline(self) -> PlatePipeline:
        """The recognition engine, loaded on first use."""
        if self._pipeline is None:
            self._pipeline = PlatePipeline(self.settings.recognition)
        return self._pipeline

    def _recognize(self, job: ClaimedJob) -> list[RecognizedPlate]:
        image = decode_image(self.store.get(job.image_sha256), self.settings.recognition.images)
        return self.pipeline.read_crop(image) if job.image_kind == "crop" else self.pipeline.read(image)

    def run_once(self) -> bool:
        """Process one job if there is one; return whether there was."""
        with self.database.session() as session:
            job = claim_job(session, self.settings)
        if job is None:
            return False
        try:
            plates = self._recognize(job)
        except (ImageError, FileNotFoundError, ValueError) as exc:
            with self.database.session() as session:
                state = fail_job(session, self.settings, job, f"{type(exc).__name__}: {exc}")
            log.warning("recognition job %s failed (%s): %s", job.id, state, exc)
            return True
        with self.database.session() as session:
            stored = complete_job(session, self.settings, self.store, job, plates)
            for hook in self.after_stored:
                if stored:
                    hook(session, self.settings, stored)
        log.info("recognition job %s: %d plate(s) stored", job.id, len(stored or []))
        return True

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set, sleeping ``poll_seconds`` when the queue is empty."""
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # keep the worker alive: the job's lease expires and it is retried
                log.exception("recognition worker error")
                busy = False
            if not busy:
                stop.wait(self.settings.recognition_queue.poll_seconds)

    def start_thread(self) -> tuple[threading.Thread, threading.Event]:
        """Run in a daemon thread; set the returned event to stop it."""
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), name="recognition-worker", daemon=True)
        thread.start()
        return thread, stop
