"""Request bodies of processing's commands; each carries who acts and, if late, when it happened."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.base import Text
from shared.host.business_time import BusinessDateTime, CommandMeta, ListItem, no_actor_in_body


class Assign(CommandMeta):
    officer: Text = Field(min_length=1, max_length=128)


class Transfer(CommandMeta):
    to_department: Text = Field(min_length=1, max_length=32)


class RequestSupplement(CommandMeta):
    missing_items: list[ListItem] = Field(min_length=1, max_length=50)
    reason: Text = Field(min_length=1, max_length=2000)


class ReceiveSupplement(CommandMeta):
    pass


class CloseForNoSupplement(CommandMeta):
    pass


class ReportToLeadership(CommandMeta):
    reason: Text = Field(min_length=1, max_length=2000)


class AcknowledgeLeadership(CommandMeta):
    note: str | None = Field(default=None, max_length=2000)


class IssueApology(CommandMeta):
    reason: Text = Field(min_length=1, max_length=2000)
    new_due_at: BusinessDateTime


class Decide(CommandMeta):
    approved: bool
    reasons: str | None = Field(default=None, max_length=4000)


class MakeResultReady(CommandMeta):
    pass


class ReturnResult(CommandMeta):
    via: Literal["desk", "post", "online"] = "desk"
    received_by: str | None = Field(default=None, max_length=200)


class Withdraw(CommandMeta):
    kind: Literal["withdrawn", "stopped"] = "withdrawn"
    reason: Text = Field(min_length=1, max_length=2000)


class _Feedback(BaseModel):
    """A citizen's feedback: given now, never back-dated; who gives it is not in the body."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_actor(cls, data: Any) -> Any:
        return no_actor_in_body(data)


class Rate(_Feedback):
    score: int = Field(
        ge=1,
        le=5,
        description="5-level satisfaction scale: 1 rất không hài lòng, 2 không hài lòng, 3 bình thường,"
        " 4 hài lòng, 5 rất hài lòng",
    )
    comment: str | None = Field(default=None, max_length=1000)


class Complain(_Feedback):
    text: Text = Field(min_length=1, max_length=2000)
