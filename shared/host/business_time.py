"""Business time on commands: when it happened, which may be before it was recorded.

During a documented outage officers enter what happened later; the entry keeps both times and
needs a reason, within a limit, so that an outage never turns into lateness and every
back-dated entry shows in the audit.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from shared.contracts.base import EARLIEST_YEAR, LATEST_YEAR, Text, in_era
from shared.host.errors import ApiError
from shared.host.schema_patterns import moment_schema

# Local setting, not a legal one: how far back an officer may date an entry (with a reason).
# Long enough to cover a weekend outage; every back-dated entry shows in the history anyway.
BACKDATE_LIMIT = timedelta(hours=float(os.environ.get("MOTCUA_BACKDATE_LIMIT_HOURS", "72")))
CLOCK_SKEW = timedelta(minutes=5)


def _within_era(value: datetime) -> datetime:
    if not in_era(value):
        raise ValueError(f"the date-time must lie between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    return value


# A date-time with an offset, within years that every clock computation can handle.
BusinessDateTime = Annotated[
    AwareDatetime, AfterValidator(_within_era), moment_schema(EARLIEST_YEAR, LATEST_YEAR)
]
# One line of a list a citizen or an officer reads (missing documents, reasons).
ListItem = Annotated[Text, Field(min_length=1, max_length=1000)]


def no_actor_in_body(data: Any) -> Any:
    """For a body model's ``mode="before"`` validator: who acts comes from the token, and a
    body that still says who (as bodies did before tokens) is told so, not silently obeyed."""
    if isinstance(data, dict) and "actor" in data:
        raise ValueError(
            "actor is taken from the bearer token and may not be sent in the body"
            " (người thực hiện lấy từ mã xác thực, không gửi trong nội dung)"
        )
    return data


class CommandMeta(BaseModel):
    """When it happened, if that was earlier than now. Who acts comes from the bearer token."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_actor(cls, data: Any) -> Any:
        return no_actor_in_body(data)

    occurred_at: BusinessDateTime | None = Field(
        default=None,
        description="business time, if entered late: more than 5 minutes back needs backdate_reason,"
        " at most the back-dating limit (72 h by default) and never in the future (422 otherwise)",
    )
    backdate_reason: str | None = Field(default=None, max_length=1000)


def business_time(
    occurred_at: datetime | None,
    reason: str | None,
    *,
    now: datetime | None = None,
    limit: timedelta = BACKDATE_LIMIT,
) -> datetime:
    now = now or datetime.now(UTC)
    at = occurred_at or now
    if at > now + CLOCK_SKEW:
        raise ApiError(
            422, "occurred_in_future", "Thời điểm xảy ra nằm ở tương lai", "occurred_at lies in the future"
        )
    if now - at > CLOCK_SKEW:
        if not reason or not reason.strip():
            raise ApiError(
                422,
                "backdate_reason_required",
                "Nhập lùi thời gian phải có lý do",
                "A back-dated entry needs a backdate_reason",
            )
        if now - at > limit:
            hours = int(limit.total_seconds() // 3600)
            raise ApiError(
                422,
                "backdate_too_old",
                f"Chỉ được nhập lùi tối đa {hours} giờ",
                f"Entries may be back-dated by at most {hours} hours",
                limit_hours=hours,
            )
    return at
