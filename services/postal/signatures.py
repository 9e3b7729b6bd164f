"""Checking an operator's webhook signature: HMAC-SHA256 over ``{timestamp}.{body}``.

Each operator has its own secret, two while a key is being rotated (either one is accepted:
the operator switches to the new one, then the old one is dropped). The check itself is shared
with the payment platform's callbacks (``shared/host/signed_webhooks.py``); only the headers'
names are postal's.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.host.signed_webhooks import expected_signature, verify_signed

SIGNATURE_HEADER = "X-Postal-Signature"
TIMESTAMP_HEADER = "X-Postal-Timestamp"
EVENT_ID_HEADER = "X-Postal-Event-Id"

__all__ = ["EVENT_ID_HEADER", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "expected_signature", "verify"]


def verify(
    *,
    secret: str | Sequence[str],
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    now: float,
    tolerance_s: int,
) -> None:
    """Raises a 401 ``ApiError`` that says exactly what is wrong; returns if the call is genuine."""
    verify_signed(
        secret=secret,
        signature=signature,
        timestamp=timestamp,
        body=body,
        now=now,
        tolerance_s=tolerance_s,
        signature_header=SIGNATURE_HEADER,
        timestamp_header=TIMESTAMP_HEADER,
    )
