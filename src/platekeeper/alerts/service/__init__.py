"""Alerts: raised at ingest, listed live, opened under their own context (their kind's purpose and reference),
verified step by step (policy 462.8).

The only package that touches the alerts table: records.py (raising, listing, viewing, figures, purge release)
and workflow.py (the verification state machine, every step and every refused step audited).
"""

from __future__ import annotations

from platekeeper.alerts.service.listing import (
    AlertFilter,
    AlertPage,
    LeadsClosed,
    LeadsRefused,
    Source,
    StatusFilter,
    close_historical_leads,
    list_alerts,
    open_alerts_by_priority,
)
from platekeeper.alerts.service.records import (
    AlertDetail,
    AlertNotFound,
    alert_context,
    alert_figures,
    alert_json,
    alerts_after,
    camera_names,
    get_alert_detail,
    get_alert_image,
    latest_alert_id,
    missed_alerts,
    purged_reason,
    raise_alerts,
    record_stream_opened,
    release_alerts_for_purge,
    store_alerts,
)
from platekeeper.alerts.service.workflow import (
    STATUSES,
    STEPS,
    VISUAL_MATCH,
    AlertStepRefused,
    DispositionChoice,
    acknowledge,
    dispose,
    disposition_choices,
    record_clets,
    record_visual_check,
)

__all__ = [
    "STATUSES",
    "STEPS",
    "VISUAL_MATCH",
    "AlertDetail",
    "AlertFilter",
    "AlertNotFound",
    "AlertPage",
    "AlertStepRefused",
    "DispositionChoice",
    "LeadsClosed",
    "LeadsRefused",
    "Source",
    "StatusFilter",
    "acknowledge",
    "alert_context",
    "alert_figures",
    "alert_json",
    "alerts_after",
    "camera_names",
    "close_historical_leads",
    "dispose",
    "disposition_choices",
    "get_alert_detail",
    "get_alert_image",
    "latest_alert_id",
    "list_alerts",
    "missed_alerts",
    "open_alerts_by_priority",
    "purged_reason",
    "raise_alerts",
    "record_clets",
    "record_stream_opened",
    "record_visual_check",
    "release_alerts_for_purge",
    "store_alerts",
]
