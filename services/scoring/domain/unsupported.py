"""Indicators and codes our events cannot support yet, and what would supply them."""

from __future__ import annotations

UNSUPPORTED: tuple[dict[str, str], ...] = (
    {
        "indicator": "publicity (công khai, minh bạch), 18 points",
        "missing": "whether each procedure is published and up to date on the portals",
        "would_come_from": "a catalogue event 'catalogue.procedure_published.v1' (or a sync endpoint"
        " reading the National Public Service Portal's procedure database)",
    },
    {
        "indicator": "online services: share of procedures offering online service (full at >= 80 %)",
        "missing": "the procedure catalogue's online level per period",
        "would_come_from": "'catalogue.procedure_changed.v1' with online_level and effective_from",
    },
    {
        "indicator": "satisfaction, 18 points (not measured: its complaint / 'dislike' rate has no input)",
        "missing": "citizen ratings and complaints",
        "would_come_from": "'feedback.rating_given.v1' (dossier id, 1–5 or like/dislike) and"
        " 'feedback.complaint_filed.v1' from the rating kiosk / portal survey",
    },
    {
        "indicator": "online payment of obligations requested during processing",
        "missing": "payments after receipt (only intake's paid_online flag is known)",
        "would_come_from": "'payment.received.v1' from the payment platform (PayGov) webhook",
    },
    {
        "indicator": "national status 6 (financial obligation requested)",
        "missing": "the request to pay taxes / fees before the result",
        "would_come_from": "'processing.financial_obligation_requested.v1'",
    },
    {
        "indicator": "postal pickups per dossier",
        "missing": "a pickup carries its own reference (BC-…), not the dossier it became",
        "would_come_from": "an optional 'pickup_reference' on 'intake.dossier_received'",
    },
)
