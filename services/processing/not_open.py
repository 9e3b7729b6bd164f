"""Why processing has no case for a dossier code: not yet opened, not received, or unknown.

Processing opens a case when it consumes intake's ``dossier_received`` event, a moment after the
desk received the dossier. An officer who acts in between must learn that the dossier exists and
that the case is on its way, not get a bare 404. Services share nothing but events, so processing
looks where its own intake consumer reads: the dossier's intake events on the bus (the subject
carries the dossier id, which follows from the code). An event there that processing has not
applied yet means "retry shortly"; a desk outcome other than received means no case will open.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import get_args

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from shared.auth.guard import Caller
from shared.contracts import CompletionRequested, DossierReceived, DossierRefused
from shared.contracts.base import EventBase
from shared.contracts.ids import dossier_id_for
from shared.eventlog.topology import STREAM, subject_for
from shared.host.errors import ApiError, not_found
from shared.host.outages import dependency_unavailable, outage_of

log = logging.getLogger(__name__)

RETRY_AFTER_S = 2


def _versions(contract: type[EventBase]) -> tuple[str, ...]:
    """Every ``event_type`` a contract is published under (each version), from the contract."""
    return tuple(get_args(contract.model_fields["event_type"].annotation))


# The desk's outcomes, the received one first: a dossier completed later has both events.
_RECEIVED = _versions(DossierReceived)
_INTAKE_EVENTS = (*_RECEIVED, *_versions(CompletionRequested), *_versions(DossierRefused))


async def intake_outcome(js: JetStreamContext, code: str) -> tuple[str, str | None, str | None] | None:
    """The latest desk outcome published for ``code``: its ``event_type``, the competent
    department and the desk that registered it; or None."""
    dossier_id = dossier_id_for(code)
    for event_type in _INTAKE_EVENTS:
        try:
            msg = await asyncio.wait_for(
                js.get_last_msg(STREAM, subject_for(event_type, dossier_id), direct=True), timeout=2
            )
        except NotFoundError:
            continue
        fields = json.loads(msg.data or b"{}")
        return event_type, fields.get("department_code"), fields.get("receiving_point")
    return None


async def case_missing(js: JetStreamContext | None, code: str, caller: Caller) -> ApiError:
    """The 404 for a code without a case, saying as much as the bus tells — and only to a
    caller whose unit the dossier is (to anyone else a code's existence is not confirmed)."""
    outcome: str | None = None
    if js is not None:
        try:
            found = await intake_outcome(js, code)
        except Exception as exc:
            if outage_of(exc) is not None:
                # Without the bus a 404 would say "no such dossier" of one the desk may have
                # just received (and whose case cannot open before the bus is back): retry later.
                log.warning("could not look %s up on the bus: %r", code, exc)
                return dependency_unavailable("nats")
            log.info("could not look %s up on the bus", code, exc_info=True)
            found = None
        if found is not None and caller.may_see(departments=(found[1],), desk=found[2]):
            outcome = found[0]
    if outcome in _RECEIVED:
        error = ApiError(
            404,
            "case_not_yet_opened",
            f"Hồ sơ {code} đã được tiếp nhận tại bộ phận một cửa nhưng chưa được mở để giải quyết;"
            f" vui lòng thử lại sau {RETRY_AFTER_S} giây",
            f"Dossier {code} was received at the desk but its case is not open yet;"
            f" retry in {RETRY_AFTER_S} s",
            known_to="intake",
            retry_after_s=RETRY_AFTER_S,
        )
        error.headers = {"Retry-After": str(RETRY_AFTER_S)}
        return error
    if outcome is not None:
        waiting = outcome in _versions(CompletionRequested)
        state_vi, state_en = ("đang chờ bổ sung tại quầy", "waiting for completion at the counter")
        if not waiting:
            state_vi, state_en = ("đã bị từ chối tiếp nhận", "refused at the counter")
        return ApiError(
            404,
            "dossier_not_received",
            f"Hồ sơ {code} {state_vi}: chưa có hồ sơ giải quyết",
            f"Dossier {code} is {state_en}: no case is opened until it is received complete",
            known_to="intake",
            intake_event=outcome,
        )
    return not_found("hồ sơ đang giải quyết", "Case for dossier", code)
