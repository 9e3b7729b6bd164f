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
        "indicator": "digitisation: electronic result actually issued",
        "missing": "whether the result was signed and issued electronically (only the way it was"
        " returned is known)",
        "would_come_from": "'processing.electronic_result_issued.v1' with the signed document id",
    },
    {
        "indicator": "postal pickups per dossier",
        "missing": "a pickup carries its own reference (BC-…), not the dossier it became",
        "would_come_from": "an optional 'pickup_reference' on 'intake.dossier_received'",
    },
)
