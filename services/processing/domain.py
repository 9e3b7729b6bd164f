"""The case a department works on for one dossier (giải quyết hồ sơ). No I/O here."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

CASE_NAMESPACE = uuid5(NAMESPACE_URL, "https://motcua.vn/case")


def case_id_for(dossier_code: str) -> UUID:
    return uuid5(CASE_NAMESPACE, dossier_code)


class InvalidTransition(Exception):
    """The action is not allowed in the case's current state."""

    def __init__(self, state: str, action: str, allowed: list[str]) -> None:
        super().__init__(f"cannot {action} while {state}")
        self.state = state
        self.action = action
        self.allowed = allowed


class Case(Aggregate):
    """Hồ sơ đang giải quyết: the competent department's side of a dossier."""

    ACTIONS = {  # noqa: RUF012 - a class-level table of the state machine
        "in_processing": ["decide"],
        "decided": ["make_result_ready"],
        "result_ready": [],
    }

    @staticmethod
    def create_id(dossier_code: str) -> UUID:  # type: ignore[override]
        return case_id_for(dossier_code)

    @event("Opened")
    def __init__(
        self,
        *,
        dossier_id: UUID,
        dossier_code: str,
        department_code: str,
        due_at: datetime,
        postal_return: bool,
        occurred_at: datetime,
        actor: dict[str, Any],
    ) -> None:
        self.dossier_id = dossier_id
        self.dossier_code = dossier_code
        self.department_code = department_code
        self.due_at = due_at
        self.postal_return = postal_return
        self.opened_at = occurred_at
        self.state = "in_processing"
        self.approved: bool | None = None
        self.reasons: str | None = None
        self.result_ready_at: datetime | None = None

    def ref(self) -> dict[str, Any]:
        """What every later event repeats, so that each published event stands on its own."""
        return {
            "dossier_id": str(self.dossier_id),
            "dossier_code": self.dossier_code,
            "department_code": self.department_code,
            "due_at": self.due_at.isoformat(),
            "postal_return": self.postal_return,
        }

    def allowed_actions(self) -> list[str]:
        return list(self.ACTIONS[self.state])

    def check_allowed(self, action: str) -> None:
        if action not in self.ACTIONS[self.state]:
            raise InvalidTransition(self.state, action, self.allowed_actions())

    def decide(
        self,
        *,
        approved: bool,
        reasons: str | None,
        occurred_at: datetime,
        backdate_reason: str | None,
        actor: dict[str, Any],
    ) -> None:
        self.check_allowed("decide")
        if not approved and not reasons:
            raise ValueError("a rejection needs its reasons")
        self._decided(
            ref=self.ref(),
            approved=approved,
            reasons=reasons,
            occurred_at=occurred_at,
            backdate_reason=backdate_reason,
            actor=actor,
        )

    @event("Decided")
    def _decided(
        self,
        ref: dict[str, Any],
        approved: bool,
        reasons: str | None,
        occurred_at: datetime,
        backdate_reason: str | None,
        actor: dict[str, Any],
    ) -> None:
        self.state = "decided"
        self.approved = approved
        self.reasons = reasons

    def make_result_ready(
        self, *, occurred_at: datetime, backdate_reason: str | None, actor: dict[str, Any]
    ) -> None:
        self.check_allowed("make_result_ready")
        self._result_ready(
            ref=self.ref(),
            on_time=occurred_at <= self.due_at,
            occurred_at=occurred_at,
            backdate_reason=backdate_reason,
            actor=actor,
        )

    @event("ResultReady")
    def _result_ready(
        self,
        ref: dict[str, Any],
        on_time: bool,
        occurred_at: datetime,
        backdate_reason: str | None,
        actor: dict[str, Any],
    ) -> None:
        self.state = "result_ready"
        self.result_ready_at = occurred_at
