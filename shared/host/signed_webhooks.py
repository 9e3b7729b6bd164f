"""Partners' signed webhooks: HMAC-SHA256 over ``{timestamp}.{body}``, checked the same way for all.

Postal operators and payment platforms sign their calls with a secret they share with us (two
during a rotation: either is accepted until the old one is dropped). The timestamp is signed with
the body, so a captured call cannot be replayed later with a fresh timestamp; calls older (or
newer) than the tolerance are refused, and each receiver's unique key on the partner's event or
transaction id catches a replay inside the tolerance. Only the header names differ per partner.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence

from shared.host.errors import ApiError
from shared.host.settings import is_development, require_secret


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signed(
    *,
    secret: str | Sequence[str],
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    now: float,
    tolerance_s: int,
    signature_header: str,
    timestamp_header: str,
) -> None:
    """Raises a 401 ``ApiError`` that says exactly what is wrong; returns if the call is genuine."""
    if not signature or not timestamp:
        raise ApiError(
            401,
            "signature_missing",
            f"Thiếu chữ ký: cần các header {signature_header} và {timestamp_header}",
            f"Unsigned call: the {signature_header} and {timestamp_header} headers are required",
        )
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise ApiError(
            401,
            "timestamp_invalid",
            "Thời điểm ký không hợp lệ (cần số giây Unix)",
            "The timestamp must be Unix seconds",
        )
    age = now - int(timestamp)
    if abs(age) > tolerance_s:
        raise ApiError(
            401,
            "webhook_stale",
            f"Thông báo đã quá hạn: ký cách đây {int(age)} giây, chỉ chấp nhận trong {tolerance_s} giây",
            f"Stale call: signed {int(age)} s ago, only {tolerance_s} s are accepted",
            age_s=int(age),
            tolerance_s=tolerance_s,
        )
    given = signature.strip()
    if not given.startswith("sha256="):
        given = "sha256=" + given
    accepted = (secret,) if isinstance(secret, str) else tuple(secret)
    if not any(hmac.compare_digest(given, expected_signature(s, timestamp, body)) for s in accepted):
        raise ApiError(
            401,
            "signature_invalid",
            "Chữ ký không đúng với nội dung và thời điểm gửi",
            "The signature does not match the body and timestamp",
        )


def code_pairs(raw: str) -> dict[str, str]:
    """``CODE=value,CODE=value`` (partners' URLs or secrets): codes upper-cased, blanks skipped."""
    pairs = {}
    for item in raw.split(","):
        code, sep, value = item.partition("=")
        if sep and code.strip() and value.strip():
            pairs[code.strip().upper()] = value.strip()
    return pairs


def partner_secrets(
    raw: str, partners: Mapping[str, str], variable: str, development_secret: Callable[[str], str]
) -> dict[str, tuple[str, ...]]:
    """Each partner's secrets from ``variable``'s value (``CODE=new|old`` during a rotation). Unset:
    refused outside development; in development every partner gets its generated secret."""
    configured = {
        code: tuple(s.strip() for s in value.split("|") if s.strip())
        for code, value in code_pairs(raw).items()
    }
    if configured or not partners:
        return configured
    if not is_development():
        require_secret(variable, None)
    return {code: (development_secret(code),) for code in partners}
