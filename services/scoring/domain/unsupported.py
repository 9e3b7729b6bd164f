"""Indicators and codes our events cannot support yet, and what would supply them."""

from __future__ import annotations

UNSUPPORTED: tuple[dict[str, str], ...] = (
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
)
