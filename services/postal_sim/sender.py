"""Posting a journey's notices to motcua, signed, with the retries a real operator makes.

A notice answered with 2xx is done; 4xx other than 404 is final (the receiver refused it);
404 (the tracking number is not known yet), 5xx and network errors are retried with back-off.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from services.postal_sim.config import SimConfig
from services.postal_sim.journey import Step
from services.postal_sim.signing import signed_headers

log = logging.getLogger(__name__)


@dataclass
class Sent:
    event_id: str
    status: str
    answers: list[int] = field(default_factory=list)


class WebhookSender:
    def __init__(self, config: SimConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self._client = httpx.AsyncClient(base_url=config.postal_url, timeout=5.0, transport=transport)
        # A notice sent again under its event id says exactly what it said the first time, as a
        # real operator's redelivery does (the receiver answers 409 to an id reused otherwise).
        self._bodies: dict[str, bytes] = {}

    async def journey(self, tracking: str, steps: list[Step], log_to: list[Sent]) -> None:
        for step in steps:
            await asyncio.sleep(step.delay_s)
            log_to.append(await self.send(tracking, step))

    async def send(self, tracking: str, step: Step) -> Sent:
        notice: dict[str, Any] = {
            "tracking_number": tracking,
            "status": step.status,
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        if step.delivered_to:
            notice["delivered_to"] = step.delivered_to
        if step.reason:
            notice["reason"] = step.reason
        body = self._bodies.setdefault(step.event_id, json.dumps(notice, ensure_ascii=False).encode())
        sent = Sent(step.event_id, step.status)
        path = f"/webhooks/postal/{self.config.operator.lower()}"
        for attempt in range(self.config.webhook_attempts):
            if attempt:
                await asyncio.sleep(0.1 * 2**attempt)
            headers = signed_headers(self.config.secret, body, step.event_id)  # fresh timestamp per try
            try:
                answer = await self._client.post(path, content=body, headers=headers)
            except httpx.HTTPError as exc:
                log.info("notice %s: %r", step.event_id, exc)
                sent.answers.append(0)
                continue
            sent.answers.append(answer.status_code)
            if answer.status_code < 400 or (answer.status_code < 500 and answer.status_code != 404):
                break
        return sent

    async def aclose(self) -> None:
        await self._client.aclose()
