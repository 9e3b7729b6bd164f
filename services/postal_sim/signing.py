"""How the operator signs a notice: HMAC-SHA256 over ``{timestamp}.{body}`` with its secret.

This is the webhook protocol motcua publishes to operators; the operator side implements it
on its own (it never imports motcua's verifier), as a real operator would.
"""

from __future__ import annotations

import hashlib
import hmac
import time


def signed_headers(secret: str, body: bytes, event_id: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Postal-Timestamp": ts,
        "X-Postal-Signature": f"sha256={mac}",
        "X-Postal-Event-Id": event_id,
    }
