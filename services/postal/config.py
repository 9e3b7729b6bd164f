"""Postal's settings: which operators it books with, their webhook secrets, the centre's address.

Read from the environment once at start:

* ``POSTAL_OPERATORS`` — ``CODE=base URL`` pairs, comma-separated (default: the simulator).
* ``POSTAL_WEBHOOK_SECRETS`` — ``CODE=secret`` pairs; each operator signs with its own secret.
  During a key rotation an operator has two, ``CODE=new|old``: both are accepted until the old
  one is removed. Required outside development (``MOTCUA_ENV=development``), where a missing
  secret is generated once per data folder (``MOTCUA_DATA_DIR``, default ``.data``) and
  ``make run`` hands the same one to the simulator. There is no published default.
* ``POSTAL_BOOKING_TIMEOUT_S``, ``POSTAL_BOOKING_ATTEMPTS`` — one booking call's timeout and
  how many calls one booking round makes before it waits for the next round.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from shared.host.dev_secrets import dev_secret
from shared.host.signed_webhooks import code_pairs, partner_secrets

ROOT = Path(__file__).resolve().parents[2]
SIMULATOR_URL = "http://127.0.0.1:8105"
CENTRE = {
    "full_name": "Trung tâm Phục vụ hành chính công tỉnh",
    "address": "Số 1 Quảng trường Trung tâm, thành phố",
}


def dev_webhook_secret(operator: str, data_dir: Path | None = None) -> str:
    """The development secret of ``operator``'s webhooks, shared by postal and the simulator."""
    folder = data_dir or Path(os.environ.get("MOTCUA_DATA_DIR") or ROOT / ".data")
    return dev_secret(folder, f"postal-webhook-{operator.upper()}")


def webhook_secrets(raw: str, operators: dict[str, str]) -> dict[str, tuple[str, ...]]:
    return partner_secrets(raw, operators, "POSTAL_WEBHOOK_SECRETS", dev_webhook_secret)


@dataclass(frozen=True)
class PostalConfig:
    operators: dict[str, str] = field(default_factory=lambda: {"VNPOST": SIMULATOR_URL})
    # Per operator, the secrets its notices may be signed with (two during a rotation).
    secrets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    booking_timeout_s: float = 5.0
    booking_attempts: int = 4
    backoff_s: float = 0.2
    webhook_tolerance_s: int = 300
    centre: dict[str, str] = field(default_factory=lambda: dict(CENTRE))

    @classmethod
    def from_env(cls) -> PostalConfig:
        env = os.environ
        operators = code_pairs(env.get("POSTAL_OPERATORS", "")) or {"VNPOST": SIMULATOR_URL}
        secrets = webhook_secrets(env.get("POSTAL_WEBHOOK_SECRETS", ""), operators)
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
