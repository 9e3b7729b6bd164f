"""Per-operator figures for scoring: how much goes by post, how fast, how often it fails.

Shares are of all dossiers received at intake (``postal.recipients``): overall, *handed in by
post* counts dossiers received through the postal channel (KenhThucHien 3) — a pickup becomes
one when intake receives it, so pickups are not added again; per operator it is the pickups it
delivered to the centre. *Returned by post* counts results delivered to the citizen.
Delivery time runs from the booking to the delivery; the failure rate is failed or returned
shipments over finished ones.
"""

from __future__ import annotations

from typing import Any

import asyncpg

_PER_OPERATOR = """
SELECT operator,
       count(*) AS shipments,
       count(*) FILTER (WHERE kind = 'pickup') AS pickups,
       count(*) FILTER (WHERE kind = 'delivery') AS deliveries,
       count(*) FILTER (WHERE status = 'delivered') AS delivered,
       count(*) FILTER (WHERE kind = 'pickup' AND status = 'delivered') AS pickups_delivered,
       count(*) FILTER (WHERE kind = 'delivery' AND status = 'delivered') AS results_delivered,
       count(*) FILTER (WHERE status IN ('failed', 'returned_to_sender')) AS failed,
       count(*) FILTER (WHERE status NOT IN ('delivered', 'failed', 'returned_to_sender')) AS in_progress,
       avg(extract(epoch FROM finished_at - booked_at)) FILTER (WHERE status = 'delivered') AS avg_s,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - booked_at))
           FILTER (WHERE status = 'delivered') AS median_s,
       max(extract(epoch FROM finished_at - booked_at)) FILTER (WHERE status = 'delivered') AS max_s,
       coalesce(sum(fee_vnd), 0) AS fees_vnd
FROM postal.shipments GROUP BY operator ORDER BY operator
"""
_DOSSIERS = """
SELECT count(*) AS received,
       count(*) FILTER (WHERE channel = 3) AS filed_by_post,
       count(*) FILTER (WHERE postal_return) AS asked_postal_return
FROM postal.recipients
"""


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(float(seconds) / 3600, 3)


async def operator_figures(conn: asyncpg.Connection) -> dict[str, Any]:
    dossiers = dict(await conn.fetchrow(_DOSSIERS))
    received = int(dossiers["received"])
    operators = []
    for r in await conn.fetch(_PER_OPERATOR):
        finished = r["delivered"] + r["failed"]
        operators.append(
            {
                "operator": r["operator"],
                "shipments": r["shipments"],
                "pickups": r["pickups"],
                "deliveries": r["deliveries"],
                "delivered": r["delivered"],
                "failed": r["failed"],
                "in_progress": r["in_progress"],
                "failure_rate": _share(r["failed"], finished),
                "delivery_hours": {
                    "average": _hours(r["avg_s"]),
                    "median": _hours(r["median_s"]),
                    "max": _hours(r["max_s"]),
                },
                "handed_in_share": _share(r["pickups_delivered"], received),
                "returned_share": _share(r["results_delivered"], received),
                "fees_vnd": int(r["fees_vnd"]),
            }
        )
    returned = await conn.fetchval(
        "SELECT count(DISTINCT dossier_id) FROM postal.shipments"
        " WHERE kind = 'delivery' AND status = 'delivered'"
    )
    return {
        "dossiers": {
            **dossiers,
            "returned_by_post": int(returned),
            "handed_in_share": _share(int(dossiers["filed_by_post"]), received),
            "returned_share": _share(int(returned), received),
        },
        "operators": operators,
    }
