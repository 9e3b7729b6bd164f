"""The simulator's settings, from ``POSTAL_SIM_*`` variables; tests build one directly."""

from __future__ import annotations

import os
from dataclasses import dataclass

DEV_WEBHOOK_SECRET = "motcua-dev-webhook-secret"  # noqa: S105 - the published dev default


@dataclass(frozen=True)
class SimConfig:
    operator: str = "VNPOST"
    secret: str = DEV_WEBHOOK_SECRET
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
            secret=env.get("POSTAL_SIM_SECRET", DEV_WEBHOOK_SECRET),
            postal_url=env.get("POSTAL_SIM_POSTAL_URL", f"http://127.0.0.1:{port}"),
            min_delay_s=float(env.get("POSTAL_SIM_MIN_DELAY_S", "0.2")),
            max_delay_s=float(env.get("POSTAL_SIM_MAX_DELAY_S", "1.5")),
            failure_share=float(env.get("POSTAL_SIM_FAILURE_SHARE", "0.1")),
            duplicate_share=float(env.get("POSTAL_SIM_DUPLICATE_SHARE", "0.2")),
            reorder_share=float(env.get("POSTAL_SIM_REORDER_SHARE", "0.2")),
        )
