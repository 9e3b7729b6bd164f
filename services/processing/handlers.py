"""Processing's message handlers.

A received dossier opens its case; the postal service's delivery of a result returns it, and a
failed delivery sends it back to the desk. A command that the case has already moved past (a
late duplicate) is a no-op, not a poison message.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace

import asyncpg

from services.processing.application import CaseNotFound, ProcessingApplication
from services.processing.case_commands import OpenCase
from services.processing.domain import Case
from services.processing.rules import CaseRuleViolation, InvalidTransition
from services.processing.values import PausePolicy, ReturnVia, StepMeta
from shared.contracts import AnyEvent, DossierReceived, ShipmentDelivered, ShipmentFailed
from shared.eventlog.consumer import ApplyBatch, Handler, PoisonMessage

log = logging.getLogger(__name__)


def _opening(event: DossierReceived) -> OpenCase:
    return OpenCase(
        dossier_id=event.dossier_id,
        dossier_code=event.dossier_code,
        department_code=event.department_code,
        procedure_code=event.procedure_code,
        legal_days=event.legal_days,
        legal_hours=event.legal_hours,
        same_day=event.same_day,
        same_day_cutoff=event.same_day_cutoff,
        supplement_policy=PausePolicy(event.supplement_policy),
        agency_shares=event.agency_shares,
        received_at=event.received_at,
        due_at=event.due_at,
        postal_return=event.postal_return,
        occurred_at=event.received_at,
        actor=event.actor.model_dump(mode="json"),
        calendar=event.calendar,
        receiving_point=event.receiving_point,
        tracking_hash=event.tracking_hash,
        backdate_reason=event.backdate_reason,
        intake_steps=tuple(s.model_dump(mode="json") for s in event.filing_steps),
    )


def on_intake_event(app: ProcessingApplication) -> Handler:
    async def handle(_: asyncpg.Connection, event: AnyEvent) -> None:
        if isinstance(event, DossierReceived):
            await asyncio.to_thread(app.open_case, _opening(event))

    return handle


def open_received_cases(app: ProcessingApplication) -> ApplyBatch:
    """The intake consumer's ``apply`` hook: all new cases of a pulled batch in one save.

    The cases live in the event store, not in the tracking transaction, exactly as with
    ``open_case``: if the batch then rolls back, its redelivery finds the cases open and opens
    nothing twice. The handler remains for what this could not open together.
    """

    async def apply(_: asyncpg.Connection, events: list[AnyEvent]) -> list[str]:
        received = [e for e in events if isinstance(e, DossierReceived)]
        opened = (
            await asyncio.to_thread(app.open_cases, [_opening(e) for e in received]) if received else set()
        )
        # The handler has nothing to do for other intake events: done as well.
        return [e.event_id for e in events if not isinstance(e, DossierReceived) or e.dossier_code in opened]

    return apply


def _not_before(case: Case, meta: StepMeta) -> StepMeta:
    """An operator's clock running behind ours must not make a real delivery poison.

    A delivery cannot precede the result being ready: a notice dated earlier than the case's
    last step is recorded at that step's time, and the history says why.
    """
    if meta.occurred_at >= case.last_business_time:
        return meta
    return replace(
        meta,
        occurred_at=case.last_business_time,
        backdate_reason=(
            f"operator reported {meta.occurred_at.isoformat()}, before the case's last step;"
            " recorded at that step's time"
        ),
    )


def on_postal_event(app: ProcessingApplication) -> Handler:
    async def handle(_: asyncpg.Connection, event: AnyEvent) -> None:
        if not isinstance(event, ShipmentDelivered | ShipmentFailed) or event.kind != "delivery":
            return
        at = event.delivered_at if isinstance(event, ShipmentDelivered) else event.occurred_at
        meta = StepMeta(occurred_at=at, actor=event.actor.model_dump(mode="json"))
        action: Callable[[Case], None]
        if isinstance(event, ShipmentDelivered):

            def action(case: Case) -> None:
                case.return_result(ReturnVia.POST, event.delivered_to, _not_before(case, meta))
        else:

            def action(case: Case) -> None:
                case.back_at_desk(f"{event.status}: {event.reason}", _not_before(case, meta))

        try:
            await asyncio.to_thread(app.act, event.dossier_code, action)
        except CaseNotFound as exc:
            raise PoisonMessage(f"no case for dossier {event.dossier_code}") from exc
        except InvalidTransition as exc:
            log.info("postal %s for %s ignored: %s", event.event_type, event.dossier_code, exc)
        except CaseRuleViolation as exc:
            raise PoisonMessage(f"{exc.code}: {exc.en}") from exc

    return handle
