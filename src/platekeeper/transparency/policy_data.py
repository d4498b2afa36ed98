"""The posted policy's sections about the data itself: its accuracy and how errors are corrected (462.8;
1798.90.51(b)(2)(F)), and how long it is kept and when it is destroyed (462.9; 1798.90.51(b)(2)(G))."""

from __future__ import annotations

from typing import Any

from platekeeper.config import Settings
from platekeeper.transparency.accuracy import MeasuredAccuracy
from platekeeper.transparency.blocks import p, section, table, titles, ul

__all__ = ["accuracy_section", "retention_section"]


def _measured(accuracy: MeasuredAccuracy) -> list[dict[str, Any]]:
    if not accuracy.sets:
        return [
            p(
                f"Reads are recognized by the {accuracy.recognizer} recognizer, whose accuracy on plates has not been "
                "measured on a held-out set; every alert is checked by a person as described above."
            )
        ]
    rows = [[s["description"], str(s["plates"]), f"{s['exact'] * 100:.1f} %"] for s in accuracy.sets]
    return [
        p(
            f"Measured recognition accuracy of the plate recognizer in use ({accuracy.model}), measured on "
            f"{accuracy.measured_on} on plates it was never trained on. The measure: {accuracy.metric}."
        ),
        table("Measured recognition accuracy", ["Set measured on", "Plates", "Read exactly"], rows),
    ]


def accuracy_section(settings: Settings, accuracy: MeasuredAccuracy) -> dict[str, Any]:
    """The verification steps before any action on an alert, misreads, and the measured accuracy."""
    alerts, matching = settings.alerts, settings.matching
    rejects = "; ".join(r.label for r in alerts.reject_reasons)
    clets = "; ".join(r.label for r in alerts.clets_results)
    misreads = "; ".join(d.label for d in alerts.dispositions if d.misread) or "none"
    enforcement = "; ".join(d.label for d in alerts.dispositions if d.enforcement) or "none"
    closing = "; ".join(d.label for d in alerts.dispositions)
    return section(
        "accuracy",
        "Accuracy, and correcting errors",
        "Civil Code 1798.90.51(b)(2)(F); policy 462.8",
        [
            p(
                "Wear, dirt, covers and frames can make a plate read wrongly, so no action is taken on an alert "
                "before it is verified:"
            ),
            ul([
                "The officer or dispatcher views the plate image beside the read and confirms it was read "
                f"correctly, or rejects the alert as one of: {rejects}.",
                f"The hit is checked through CLETS, recording one of: {clets}.",
                f"An alert can end in enforcement ({enforcement}) only after a visual match and a CLETS "
                "confirmation are recorded.",
                f"Every alert is closed with one of: {closing}. The ones that count as misreads ({misreads}) make "
                "each camera's misread rate, which supervisors watch.",
                "A person may correct a read's plate; the correction is kept beside the original reading and both "
                "are in the audit log.",
                "Hotlist matching allows for characters the recognizer confuses "
                f"({', '.join('/'.join(pair) for pair in matching.confusable_pairs)}), so a misread still raises the "
                "alert a person then checks.",
            ]),
            *_measured(accuracy),
        ],
    )  # fmt: skip


def retention_section(settings: Settings) -> dict[str, Any]:
    """How long reads, requests and the audit log's plate texts are kept, the purge, and the legal holds."""
    retention = settings.retention
    when = (
        f"every day at {retention.purge_time.strftime('%H:%M')} ({settings.agency.timezone})"
        if retention.purge_in_server
        else "every day by the agency's scheduled purge"
    )
    holders = [name for name, role in settings.access.roles.items() if "holds.approve" in role.permissions]
    return section(
        "retention",
        "Retention, and when data is destroyed",
        "Civil Code 1798.90.51(b)(2)(G); policy 462.9",
        [
            p(
                f"Reads and their images are kept {retention.days} days. The purge runs {when}, deletes what is "
                "older, and leaves a signed certificate of what it removed (counts, never plates)."
            ),
            p(
                "Data is kept longer only when it is, or may become, evidence in a criminal or civil action or is "
                "subject to a discovery request or another lawful action to produce records: a legal hold for a "
                "case, requested by one person and approved by another "
                f"({titles(settings, holders)}); held data is exported to portable media and booked into evidence "
                "with a chain-of-custody record. A hold is released when the case no longer needs it, and its reads "
                "then fall under the purge."
            ),
            ul([
                f"Sharing and Public Records Act requests: kept {settings.sharing.retention_days} days after the "
                "decision.",
                f"The audit log: kept; a plate's text in it for {settings.audit.plate_detail_days} days.",
            ]),
        ],
    )  # fmt: skip
