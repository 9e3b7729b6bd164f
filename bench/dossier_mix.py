"""A varied, reproducible mix of dossiers as contract events, for scoring's report tests and timing.

Every path that moves the 766 judgement is here: decided early / on time / late, one and two
supplement requests, dossiers left paused, apologies with a new date, withdrawals, closures,
refusals, incomplete filings, results returned online or on paper. Events later than
``horizon`` are dropped, as if the log were read at that moment.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from shared.contracts import (
    Actor,
    AnyEvent,
    ApologyIssued,
    ClosedForNoSupplement,
    CompletionRequested,
    DossierDecided,
    DossierReceived,
    DossierRefused,
    ProcessingStopped,
    ResultReturned,
    SealedPersonalData,
    SupplementReceived,
    SupplementRequested,
)

ACTOR = Actor(user_id="cb", role="officer", agency="STP", channel=1)
PERSON = SealedPersonalData(key_ref=uuid.UUID(int=1), ciphertext="c2VhbGVk")
DEPARTMENTS = ("STP", "SXD", "STNMT", "SYT")
POINTS = ("TTHCC", "HUYEN-A", "XA-B")
PROCEDURES = ("LLTP", "GPXD", "DKKD")


def dossier(
    rnd: random.Random, n: int, start: datetime, span_days: float, horizon: datetime
) -> list[AnyEvent]:
    """One dossier's events (``n`` numbers its code), received within ``span_days`` of ``start``."""
    did, version = uuid.UUID(int=rnd.getrandbits(128)), 0
    code = f"MIX-{n:07d}"
    department = rnd.choice(DEPARTMENTS)

    def common(service: str, at: datetime) -> dict[str, Any]:
        nonlocal version
        version += 1
        return {
            "event_id": f"{service}:{did}:{version}",
            "dossier_id": did,
            "dossier_code": code,
            "occurred_at": at,
            "recorded_at": at,
            "actor": ACTOR,
        }

    at = start + timedelta(hours=rnd.uniform(0, 24 * span_days))
    channel = rnd.choice((1, 1, 2, 2, 3))
    filed: dict[str, Any] = {
        "procedure_code": rnd.choice(PROCEDURES),
        "department_code": department,
        "receiving_point": rnd.choice(POINTS),
        "channel": channel,
        "online_level": rnd.choice(("full", "partial")) if channel == 2 else None,
        "applicant": PERSON,
    }
    events: list[AnyEvent] = []
    roll = rnd.random()
    if roll < 0.06:
        return [DossierRefused(**common("intake", at), **filed, reasons="không thuộc thẩm quyền")]
    if roll < 0.14:
        events.append(CompletionRequested(**common("intake", at), **filed, missing_items=["giấy tờ"]))
        if roll < 0.10:
            return [e for e in events if e.occurred_at <= horizon]
        at += timedelta(hours=rnd.uniform(2, 60))
    legal_days = rnd.choice((1, 2, 3, 5))
    due = at + timedelta(days=legal_days * 1.4)
    fee = rnd.choice((0, 0, 50_000))
    events.append(
        DossierReceived(
            **common("intake", at),
            **filed,
            postal_return=rnd.random() < 0.2,
            legal_days=legal_days,
            received_at=at,
            due_at=due,
            fee_vnd=fee,
            paid_online=fee > 0 and rnd.random() < 0.5,
            documents_scanned=rnd.random() < 0.8,
            electronic_result=rnd.random() < 0.5,
        )
    )

    def case(cls: type, when: datetime, **extra: Any) -> None:
        events.append(cls(**common("processing", when), department_code=department, due_at=due, **extra))

    t = at
    requests = 0
    for _ in range(rnd.choice((0, 0, 0, 1, 1, 2))):
        t += timedelta(hours=rnd.uniform(0.5, 30))
        requests += 1
        case(SupplementRequested, t, number=requests, missing_items=["bản sao"], reason="thiếu")
        if rnd.random() < 0.2:
            return [e for e in events if e.occurred_at <= horizon]  # left paused (or closed later)
        t += timedelta(hours=rnd.uniform(1, 80))
        case(SupplementReceived, t, number=requests, policy="restart", paused_minutes=0)
    if rnd.random() < 0.1:
        t += timedelta(hours=rnd.uniform(1, 48))
        old, due = due, t + timedelta(days=rnd.uniform(1, 6))
        case(ApologyIssued, t, previous_due_at=old, reason="cần xác minh")
    finish = rnd.random()
    t += timedelta(hours=rnd.uniform(1, 24 * legal_days * 2.5))
    if finish < 0.7:
        case(DossierDecided, t, approved=rnd.random() < 0.9, on_time=True, minutes_used=0)
        if rnd.random() < 0.7:
            t += timedelta(hours=rnd.uniform(1, 400))
            case(ResultReturned, t, via=rnd.choice(("desk", "post", "online")))
    elif finish < 0.75:
        case(ProcessingStopped, t, kind=rnd.choice(("withdrawn", "stopped")), reason="xin rút")
    elif finish < 0.78 and requests:
        case(ClosedForNoSupplement, t)
    return [e for e in events if e.occurred_at <= horizon]
