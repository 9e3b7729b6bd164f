"""The simulator's settings, from ``POSTAL_SIM_*`` variables; tests build one directly."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shared.host.dev_secrets import dev_secret
from shared.host.settings import is_development, require_secret


@dataclass(frozen=True)
class SimConfig:
    operator: str = "VNPOST"
    secret: str = ""  # what it signs its notices with: the one postal has for this operator
    postal_url: str = "http://127.0.0.1:8103"
    min_delay_s: float = 0.2
    max_delay_s: float = 1.5
    failure_share: float = 0.1  # deliveries that fail (and then come back to the sender)
    duplicate_share: float = 0.2  # notices sent twice with the same event id
    reorder_share: float = 0.2  # journeys whose two middle steps arrive swapped
    slow_responses: int = 0  # the first N answers per booking key come late (after booking)
    slow_response_s: float = 0.0
    webhook_attempts: int = 5
    seed: int | None = None

    @classmethod
    def from_env(cls) -> SimConfig:
        env = os.environ
        port = env.get("POSTAL_PORT", "8103")
        return cls(
            operator=env.get("POSTAL_SIM_OPERATOR", "VNPOST"),
            secret=_secret(env.get("POSTAL_SIM_SECRET"), env.get("POSTAL_SIM_OPERATOR", "VNPOST")),
            postal_url=env.get("POSTAL_SIM_POSTAL_URL", f"http://127.0.0.1:{port}"),
            min_delay_s=float(env.get("POSTAL_SIM_MIN_DELAY_S", "0.2")),
            max_delay_s=float(env.get("POSTAL_SIM_MAX_DELAY_S", "1.5")),
            failure_share=float(env.get("POSTAL_SIM_FAILURE_SHARE", "0.1")),
            duplicate_share=float(env.get("POSTAL_SIM_DUPLICATE_SHARE", "0.2")),
            reorder_share=float(env.get("POSTAL_SIM_REORDER_SHARE", "0.2")),
        )


def _secret(configured: str | None, operator: str) -> str:
    if configured:
        return configured
    if not is_development():
        return require_secret("POSTAL_SIM_SECRET", None)
    # The same generated secret as postal's development fallback (services/postal/config.py).
    folder = Path(os.environ.get("MOTCUA_DATA_DIR") or Path(__file__).resolve().parents[2] / ".data")
    return dev_secret(folder, f"postal-webhook-{operator.upper()}")
