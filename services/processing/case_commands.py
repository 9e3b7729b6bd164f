"""What the API asks of a case: one frozen dataclass per use case, handed to the application.

A request body (``commands``) is what came over HTTP; a command here is what it means once the
caller is known: the dossier, the step's ``StepMeta`` (business time, actor, late-entry reason)
and the inputs of the step, already in the domain's types. ``apply_to`` is the one call it makes
on the case, whose rules decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from services.processing.values import FeedbackSource, PausePolicy, ReturnVia, StepMeta, StopKind

if TYPE_CHECKING:  # the case reads ``OpenCase``: no import at run time, either way round
    from services.processing.domain import Case


@dataclass(frozen=True, kw_only=True, slots=True)
class OpenCase:
    """A received dossier's case, as intake's receipt describes it (``Case.open``)."""

    dossier_id: UUID
    dossier_code: str
    department_code: str
    procedure_code: str
    legal_days: int | None
    legal_hours: int | None
    same_day_cutoff: str | None
    supplement_policy: PausePolicy
    agency_shares: dict[str, int] | None
    received_at: datetime
    due_at: datetime
    postal_return: bool
    occurred_at: datetime
    actor: dict[str, Any]
    calendar: str
    receiving_point: str | None
    tracking_hash: str | None
    same_day: bool = False
    backdate_reason: str | None = None
    # filed online: intake's steps before the receipt (their shape is intake's published one)
    intake_steps: tuple[dict[str, Any], ...] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CaseCommand:
    dossier_code: str
    meta: StepMeta

    def apply_to(self, case: Case) -> None:
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True, slots=True)
class Assign(CaseCommand):
    officer: str

    def apply_to(self, case: Case) -> None:
        case.assign(self.officer, self.meta)


@dataclass(frozen=True, kw_only=True, slots=True)
class Transfer(CaseCommand):
    to_department: str

    def apply_to(self, case: Case) -> None:
        case.transfer(self.to_department, self.meta)


@dataclass(frozen=True, kw_only=True, slots=True)
class RequestSupplement(CaseCommand):
    missing_items: tuple[str, ...]
    reason: str

    def apply_to(self, case: Case) -> None:
        case.request_supplement(list(self.missing_items), self.reason, self.meta)


@dataclass(frozen=True, kw_only=True, slots=True)
class ReceiveSupplement(CaseCommand):
    def apply_to(self, case: Case) -> None:
        case.receive_supplement(self.meta)


@dataclass(frozen=True, kw_only=True, slots=True)
class CloseForNoSupplement(CaseCommand):
    def apply_to(self, case: Case) -> None:
        case.close_for_no_supplement(self.meta)


@dataclass(frozen=True, kw_only=True, slots=True)
class ReportToLeadership(CaseCommand):
    reason: str

    def apply_to(self, case: Case) -> None:
        case.report_to_leadership(self.reason, self.meta)


@dataclass(frozen=True, kw_only=True, slots=True)
class AcknowledgeLeadership(CaseCommand):
    note: str | None

    def apply_to(self, case: Case) -> None:
        case.acknowledge_leadership(self.note, self.meta)


@dataclass(frozen=True, kw_only=True, slots=True)
class IssueApology(CaseCommand):
    reason: str
    new_due_at: datetime

    def apply_to(self, case: Case) -> None:
        case.issue_apology(self.reason, self.new_due_at, self.meta)


@dataclass(frozen=True, kw_only=True, slots=True)
class Decide(CaseCommand):
    approved: bool
    reasons: str | None

    def apply_to(self, case: Case) -> None:
        case.decide(self.approved, self.reasons, self.meta)


@dataclass(frozen=True, kw_only=True, slots=True)
class MakeResultReady(CaseCommand):
    def apply_to(self, case: Case) -> None:
        case.make_result_ready(self.meta)


@dataclass(frozen=True, kw_only=True, slots=True)
class IssueResult(CaseCommand):
    """``document``: the document store's record of the stored file; ``signature``: the signer's."""

    document: dict[str, Any]
    signature: dict[str, Any] | None

    def apply_to(self, case: Case) -> None:
        case.issue_result(self.document, self.signature, self.meta)


@dataclass(frozen=True, kw_only=True, slots=True)
class ReturnResult(CaseCommand):
    via: ReturnVia
    received_by: str | None

    def apply_to(self, case: Case) -> None:
        case.return_result(self.via, self.received_by, self.meta)


@dataclass(frozen=True, kw_only=True, slots=True)
class Withdraw(CaseCommand):
    kind: StopKind
    reason: str

    def apply_to(self, case: Case) -> None:
        case.withdraw(self.kind, self.reason, self.meta)


@dataclass(frozen=True, kw_only=True, slots=True)
class Rate(CaseCommand):
    score: int
    comment: str | None
    source: FeedbackSource

    def apply_to(self, case: Case) -> None:
        case.rate(self.score, self.comment, self.source, self.meta)


@dataclass(frozen=True, kw_only=True, slots=True)
class Complain(CaseCommand):
    text: str
    source: FeedbackSource

    def apply_to(self, case: Case) -> None:
        case.complain(self.text, self.source, self.meta)
