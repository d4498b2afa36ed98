"""The unit of audited work: one request's or one command's database transaction, settings, audit key and actor.

Every service that changes data or reads plate data writes to the audit chain in the caller's transaction, as
someone. Those four things (the session, the settings, the chain's HMAC key and the actor) used to be threaded
through every call as leading parameters; a :class:`Work` carries them together. The web layer builds one per
request (``web.deps.DbWork``: the request's transaction and the signed-in principal at the client's address), the
command line one per command (``cli_support.Runtime.work``), and background jobs one per transaction they open
(``services.Services.work``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from platekeeper.audit.events import AuditEventType
from platekeeper.audit.models import AuditEvent
from platekeeper.audit.service import Actor, Identity, record_event
from platekeeper.config import Settings

__all__ = ["Work"]


@dataclass(frozen=True)
class Work:
    """One request's or one command's unit of audited work: the transaction it runs in (``session``), the
    installation's ``settings``, the audit chain's HMAC ``key`` and who is acting (``actor``).

    Before sign-in the actor is anonymous (no username) and carries only the client's address; the sign-in
    services name the person with :meth:`by` once they know who it is."""

    session: Session
    settings: Settings
    key: bytes
    actor: Actor

    @property
    def client(self) -> str | None:
        """Where the work comes from, as the audit log records it (an address, or ``cli``, ``demo``...)."""
        return self.actor.client

    def record(
        self,
        event: AuditEventType,
        *,
        outcome: str = "success",
        purpose: str | None = None,
        case_number: str | None = None,
        justification: str | None = None,
    ) -> AuditEvent:
        """Append ``event`` to the audit chain under this work's actor, in its transaction (:func:`record_event`)."""
        return record_event(
            self.session,
            self.key,
            event,
            self.actor,
            outcome=outcome,
            purpose=purpose,
            case_number=case_number,
            justification=justification,
        )

    def as_(self, actor: Actor) -> Work:
        """The same work, audited under another actor (the system acting on its own, e.g. an inactivity
        suspension found while someone signs in)."""
        return replace(self, actor=actor)

    def by(self, who: Identity) -> Work:
        """The same work done by this person from the same client: a user being signed in, or the principal whose
        access context a plate-data service checks."""
        return self.as_(Actor.of(who, self.actor.client))
