"""A parcel's journey as the operator will report it: pure, so a seeded run repeats exactly."""

from __future__ import annotations

import random
from dataclasses import dataclass

from services.postal_sim.config import SimConfig

FAILURE_REASONS = (
    "Không liên lạc được người nhận / recipient unreachable by phone",
    "Người nhận vắng nhà sau 3 lần phát / nobody home after three attempts",
    "Địa chỉ không chính xác / address not found",
)
S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)


@dataclass(frozen=True)
class Step:
    event_id: str
    status: str
    delay_s: float
    delivered_to: str | None = None
    reason: str | None = None


def tracking_number(rng: random.Random, prefix: str = "EB") -> str:
    """A UPU S10 item number (two letters, eight digits, check digit, country) as VNPost issues."""
    digits = [rng.randrange(10) for _ in range(8)]
    check = 11 - sum(d * w for d, w in zip(digits, S10_WEIGHTS, strict=True)) % 11
    check = {10: 0, 11: 5}.get(check, check)
    return f"{prefix}{''.join(map(str, digits))}{check}VN"


def plan(rng: random.Random, config: SimConfig, tracking: str, recipient_name: str | None) -> list[Step]:
    def delay() -> float:
        return rng.uniform(config.min_delay_s, config.max_delay_s)

    statuses: list[tuple[str, str | None, str | None]] = [
        ("accepted", None, None),
        ("picked_up", None, None),
        ("in_transit", None, None),
    ]
    if rng.random() < config.failure_share:
        reason = rng.choice(FAILURE_REASONS)
        statuses += [("failed", None, reason), ("returned_to_sender", None, "chuyển hoàn / " + reason)]
    else:
        statuses.append(("delivered", recipient_name or "Người nhận", None))
    steps = [
        Step(f"{tracking}-{n}", status, delay(), delivered_to=to, reason=why)
        for n, (status, to, why) in enumerate(statuses, start=1)
    ]
    if rng.random() < config.reorder_share:
        steps[1], steps[2] = steps[2], steps[1]  # in transit reported before picked up
    out: list[Step] = []
    for step in steps:
        out.append(step)
        if rng.random() < config.duplicate_share:
            out.append(Step(step.event_id, step.status, delay(), step.delivered_to, step.reason))
    return out
