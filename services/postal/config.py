"""Postal's settings: which operators it books with, their webhook secrets, the centre's address.

Read from the environment once at start:

* ``POSTAL_OPERATORS`` — ``CODE=base URL`` pairs, comma-separated (default: the simulator).
* ``POSTAL_WEBHOOK_SECRETS`` — ``CODE=secret`` pairs; each operator signs with its own secret.
  The default dev secret serves ``make run`` and the tests only; a site must set its own.
* ``POSTAL_BOOKING_TIMEOUT_S``, ``POSTAL_BOOKING_ATTEMPTS`` — one booking call's timeout and
  how many calls one booking round makes before it waits for the next round.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEV_WEBHOOK_SECRET = "motcua-dev-webhook-secret"  # noqa: S105 - a published dev default
SIMULATOR_URL = "http://127.0.0.1:8105"
CENTRE = {
    "full_name": "Trung tâm Phục vụ hành chính công tỉnh",
    "address": "Số 1 Quảng trường Trung tâm, thành phố",
}


def _pairs(raw: str) -> dict[str, str]:
    pairs = {}
    for item in raw.split(","):
        code, sep, value = item.partition("=")
        if sep and code.strip() and value.strip():
            pairs[code.strip().upper()] = value.strip()
    return pairs


@dataclass(frozen=True)
class PostalConfig:
    operators: dict[str, str] = field(default_factory=lambda: {"VNPOST": SIMULATOR_URL})
    secrets: dict[str, str] = field(default_factory=lambda: {"VNPOST": DEV_WEBHOOK_SECRET})
    booking_timeout_s: float = 5.0
    booking_attempts: int = 4
    backoff_s: float = 0.2
    webhook_tolerance_s: int = 300
    centre: dict[str, str] = field(default_factory=lambda: dict(CENTRE))

    @classmethod
    def from_env(cls) -> PostalConfig:
        env = os.environ
        operators = _pairs(env.get("POSTAL_OPERATORS", "")) or {"VNPOST": SIMULATOR_URL}
        secrets = _pairs(env.get("POSTAL_WEBHOOK_SECRETS", "")) or {
            code: DEV_WEBHOOK_SECRET for code in operators
        }
        centre = {
            "full_name": env.get("POSTAL_CENTRE_NAME", CENTRE["full_name"]),
            "address": env.get("POSTAL_CENTRE_ADDRESS", CENTRE["address"]),
        }
        return cls(
            operators=operators,
            secrets=secrets,
            booking_timeout_s=float(env.get("POSTAL_BOOKING_TIMEOUT_S", "5")),
            booking_attempts=int(env.get("POSTAL_BOOKING_ATTEMPTS", "4")),
            backoff_s=float(env.get("POSTAL_BOOKING_BACKOFF_S", "0.2")),
            centre=centre,
        )

    @property
    def default_operator(self) -> str:
        return next(iter(self.operators))
