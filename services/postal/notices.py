"""The tracking notice an operator posts to ``/webhooks/postal/{operator}``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.host.business_time import BusinessDateTime

NoticeStatus = Literal["accepted", "picked_up", "in_transit", "delivered", "failed", "returned_to_sender"]


class TrackingNotice(BaseModel):
    """One tracking step: the operator's parcel number, what happened, when, and to whom or why."""

    model_config = ConfigDict(extra="ignore")  # operators add fields of their own; we need these

    tracking_number: str = Field(min_length=1, max_length=64)
    status: NoticeStatus
    occurred_at: BusinessDateTime
    delivered_to: str | None = Field(default=None, max_length=200, description="delivered: who signed")
    reason: str | None = Field(default=None, max_length=1000, description="failed / returned: why")

    @model_validator(mode="after")
    def _explained(self) -> TrackingNotice:
        if self.status == "delivered" and not (self.delivered_to or "").strip():
            raise ValueError("a delivered notice names who received it (delivered_to)")
        if self.status in ("failed", "returned_to_sender") and not (self.reason or "").strip():
            raise ValueError("a failed or returned notice gives its reason")
        return self
