"""Processing's HTTP API: commands on a dossier's case, its state, history, forms and work queues."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import HTMLResponse

from services.processing import case_commands as cc
from services.processing import commands as c
from services.processing.application import CaseNotFound, ProcessingApplication
from services.processing.domain import Case
from services.processing.forms import FORMS, render_form
from services.processing.not_open import case_missing
from services.processing.tracking import secret_matches, tracking_not_found, tracking_view
from services.processing.values import FeedbackSource, ReturnVia, StepMeta, StopKind
from services.processing.views import case_view, history_view
from services.processing.work_queues import QUEUES, work_queue
from shared.auth.guard import Caller, acting_caller, authorize_dossier
from shared.host.business_time import CommandMeta, business_time
from shared.host.errors import ApiError
from shared.host.host import ServiceHost
from shared.host.openapi_errors import errors
from shared.host.rate_limit import RateLimiter
from shared.units import name_of, unit_names

# A command the case's state does not allow now (InvalidTransition and the other rules).
CONFLICT = errors(409)


def _meta(body: CommandMeta, caller: Caller) -> StepMeta:
    return StepMeta(
        occurred_at=business_time(body.occurred_at, body.backdate_reason),
        actor=caller.actor(),
        backdate_reason=body.backdate_reason,
    )


def _check_recipient(case: Case, department: str) -> None:
    """A transfer goes to a department of the province or to an agency the procedure shares its
    time with (the tax office of a land transfer, say) — never to a code nobody knows."""
    unit = name_of(department)
    if (unit is None or unit.kind != "department") and department not in (case.agency_shares or {}):
        known = sorted(
            {code for code, u in unit_names().items() if u.kind == "department"}
            | set(case.agency_shares or {})
        )
        raise ApiError(
            422,
            "unknown_department",
            f"Không có cơ quan {department} để chuyển hồ sơ",
            f"No department or agency {department} to transfer to",
            known=known,
        )


def _authorize(caller: Caller, case: Case) -> None:
    authorize_dossier(
        caller,
        case.dossier_code,
        departments=(case.department_code, case.competent_department),
        desk=case.receiving_point,
    )


def build_router(host: ServiceHost, app: ProcessingApplication) -> APIRouter:
    router = APIRouter(tags=["cases"])

    async def _case_not_found(code: str, caller: Caller) -> ApiError:
        try:
            js = host.broker.config.connection_state.stream
        except Exception:  # noqa: BLE001 - not connected (yet): the plain 404
            js = None
        return await case_missing(js, code, caller)

    async def run(
        caller: Caller, command: cc.CaseCommand, check: Callable[[Case], None] | None = None
    ) -> dict[str, Any]:
        """Hands the command to the application; ``check``: what this route asks of the case
        beyond its rules (a known recipient)."""

        def guard(case: Case) -> None:
            _authorize(caller, case)  # on the state that is saved: a transfer may move it away
            if check is not None:
                check(case)

        try:
            case = await asyncio.to_thread(app.execute, command, guard)
        except CaseNotFound:
            raise await _case_not_found(command.dossier_code, caller) from None
        if host.relay is not None:
            host.relay.wake()
        return case_view(case)

    async def load(code: str, caller: Caller) -> Case:
        try:
            case = await asyncio.to_thread(app.case, code)
        except CaseNotFound:
            raise await _case_not_found(code, caller) from None
        _authorize(caller, case)
        return case

    async def load_history(code: str, caller: Caller) -> list[Any]:
        try:
            case, events = await asyncio.to_thread(app.case_and_history, code)
        except CaseNotFound:
            raise await _case_not_found(code, caller) from None
        _authorize(caller, case)
        return events

    tracking_limit = RateLimiter(per_minute=30, burst=10)

    @router.get(
        "/track/{code}",
        tags=["citizens"],
        summary="Tra cứu hồ sơ: the citizen's view, with the secret printed on the receipt",
        responses=errors(429),
    )
    async def track(
        code: str,
        request: Request,
        x_tracking_secret: str | None = Header(default=None, max_length=64),
        secret: str | None = Query(
            default=None, max_length=64, description="the QR code's form of the header"
        ),
    ) -> dict[str, Any]:
        tracking_limit.check(request.client.host if request.client else "unknown")
        given = x_tracking_secret or secret
        if not given:
            raise tracking_not_found()
        try:
            case, events = await asyncio.to_thread(app.case_and_history, code)
        except CaseNotFound:
            raise tracking_not_found() from None
        if not secret_matches(case, given):
            raise tracking_not_found()
        return tracking_view(case, events)

    async def by_secret(code: str, request: Request, given: str | None) -> Case:
        tracking_limit.check(request.client.host if request.client else "unknown")
        if not given:
            raise tracking_not_found()
        try:
            case = await asyncio.to_thread(app.case, code)
        except CaseNotFound:
            raise tracking_not_found() from None
        if not secret_matches(case, given):
            raise tracking_not_found()
        return case

    async def give_feedback(command: cc.Rate | cc.Complain) -> dict[str, Any]:
        try:
            case = await asyncio.to_thread(app.execute, command)
        except CaseNotFound:
            raise tracking_not_found() from None
        if host.relay is not None:
            host.relay.wake()
        return {"dossier_code": case.dossier_code, "rating": case.rating, "complaints": case.complaints}

    def citizen(case: Case) -> StepMeta:
        # The tracking secret stands for the citizen: no account, no personal data in the event.
        # Feedback is given now, never back-dated.
        actor = {
            "user_id": "citizen:tracking",
            "role": "citizen",
            "agency": case.receiving_point or case.department_code,
            "channel": 2,
        }
        return StepMeta(occurred_at=datetime.now(UTC), actor=actor)

    @router.post(
        "/track/{code}/rating",
        status_code=201,
        tags=["citizens"],
        summary="Đánh giá mức độ hài lòng: once per dossier, after the result was returned",
        responses=errors(409, 429),
    )
    async def rate_by_secret(
        code: str,
        body: c.Rate,
        request: Request,
        x_tracking_secret: str | None = Header(default=None, max_length=64),
    ) -> dict[str, Any]:
        case = await by_secret(code, request, x_tracking_secret)
        return await give_feedback(
            cc.Rate(
                dossier_code=code,
                meta=citizen(case),
                score=body.score,
                comment=body.comment,
                source=FeedbackSource.TRACKING,
            )
        )

    @router.post(
        "/track/{code}/complaints",
        status_code=201,
        tags=["citizens"],
        summary="Phản ánh, kiến nghị về hồ sơ (at most 5 per dossier)",
        responses=errors(409, 429),
    )
    async def complain_by_secret(
        code: str,
        body: c.Complain,
        request: Request,
        x_tracking_secret: str | None = Header(default=None, max_length=64),
    ) -> dict[str, Any]:
        case = await by_secret(code, request, x_tracking_secret)
        return await give_feedback(
            cc.Complain(dossier_code=code, meta=citizen(case), text=body.text, source=FeedbackSource.TRACKING)
        )

    async def at_kiosk(code: str, caller: Caller) -> StepMeta:
        case = await load(code, caller)
        # The kiosk is the desk's device: the citizen rates at the counter that returned the result.
        actor = {
            "user_id": f"kiosk:{caller.principal.user_id}",
            "role": "citizen",
            "agency": case.receiving_point or caller.principal.agency,
            "channel": 1,
        }
        return StepMeta(occurred_at=datetime.now(UTC), actor=actor)

    @router.post(
        "/kiosk/dossiers/{code}/rating",
        status_code=201,
        tags=["citizens"],
        summary="Đánh giá tại ki-ốt của bộ phận một cửa",
        responses=CONFLICT,
    )
    async def rate_at_kiosk(code: str, body: c.Rate) -> dict[str, Any]:
        caller = acting_caller()
        meta = await at_kiosk(code, caller)
        return await give_feedback(
            cc.Rate(
                dossier_code=code,
                meta=meta,
                score=body.score,
                comment=body.comment,
                source=FeedbackSource.KIOSK,
            )
        )

    @router.post(
        "/kiosk/dossiers/{code}/complaints",
        status_code=201,
        tags=["citizens"],
        summary="Phản ánh, kiến nghị tại ki-ốt của bộ phận một cửa",
        responses=CONFLICT,
    )
    async def complain_at_kiosk(code: str, body: c.Complain) -> dict[str, Any]:
        caller = acting_caller()
        meta = await at_kiosk(code, caller)
        return await give_feedback(
            cc.Complain(dossier_code=code, meta=meta, text=body.text, source=FeedbackSource.KIOSK)
        )

    @router.get("/dossiers/{code}", summary="The case, rebuilt from its events, with the clock")
    async def get_case(code: str) -> dict[str, Any]:
        caller = acting_caller()
        return case_view(await load(code, caller))

    @router.get("/dossiers/{code}/history", summary="Every event: what, who, when, and the clock then")
    async def history(code: str) -> list[dict[str, Any]]:
        caller = acting_caller()
        return history_view(await load_history(code, caller))

    @router.get(
        "/dossiers/{code}/forms/{form}", response_class=HTMLResponse, summary="Biểu mẫu", responses=CONFLICT
    )
    async def form(code: str, form: str = Path(json_schema_extra={"enum": sorted(FORMS)})) -> HTMLResponse:
        caller = acting_caller()
        events = await load_history(code, caller)
        if form not in FORMS:
            raise ApiError(
                404, "unknown_form", f"Không có biểu mẫu {form}", f"No form {form}", known=sorted(FORMS)
            )
        html = render_form(form, events)
        if html is None:
            raise ApiError(
                409,
                "form_not_applicable",
                f"Hồ sơ chưa có sự kiện để lập biểu mẫu {form}",
                f"The dossier has no event that produces the {form} form yet",
            )
        return HTMLResponse(html)

    @router.get("/queues/{department}/{queue}", tags=["queues"], summary="Work queues")
    async def queue(
        department: str,
        queue: str = Path(json_schema_extra={"enum": list(QUEUES)}),
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        caller = acting_caller()
        if queue not in QUEUES:
            raise ApiError(
                404, "unknown_queue", f"Không có hàng đợi {queue}", f"No queue {queue}", known=list(QUEUES)
            )
        return await work_queue(
            host.pool, department, queue, min(max(limit, 1), 1000), caller.principal.user_id
        )

    @router.post("/dossiers/{code}/assign", summary="Phân công cán bộ", responses=CONFLICT)
    async def assign(code: str, body: c.Assign) -> dict[str, Any]:
        caller = acting_caller()
        return await run(caller, cc.Assign(dossier_code=code, meta=_meta(body, caller), officer=body.officer))

    @router.post(
        "/dossiers/{code}/transfer", summary="Chuyển liên thông to another agency", responses=CONFLICT
    )
    async def transfer(code: str, body: c.Transfer) -> dict[str, Any]:
        caller = acting_caller()
        command = cc.Transfer(dossier_code=code, meta=_meta(body, caller), to_department=body.to_department)
        return await run(caller, command, lambda case: _check_recipient(case, body.to_department))

    @router.post(
        "/dossiers/{code}/supplement-requests",
        summary="Yêu cầu bổ sung (the clock stops)",
        responses=CONFLICT,
    )
    async def request_supplement(code: str, body: c.RequestSupplement) -> dict[str, Any]:
        caller = acting_caller()
        command = cc.RequestSupplement(
            dossier_code=code,
            meta=_meta(body, caller),
            missing_items=tuple(body.missing_items),
            reason=body.reason,
        )
        return await run(caller, command)

    @router.post(
        "/dossiers/{code}/supplement-received",
        summary="Nhận hồ sơ bổ sung (the clock goes on)",
        responses=CONFLICT,
    )
    async def receive_supplement(code: str, body: c.ReceiveSupplement) -> dict[str, Any]:
        caller = acting_caller()
        return await run(caller, cc.ReceiveSupplement(dossier_code=code, meta=_meta(body, caller)))

    @router.post(
        "/dossiers/{code}/close-unsupplemented", summary="Dừng: not supplemented in time", responses=CONFLICT
    )
    async def close(code: str, body: c.CloseForNoSupplement) -> dict[str, Any]:
        caller = acting_caller()
        return await run(caller, cc.CloseForNoSupplement(dossier_code=code, meta=_meta(body, caller)))

    @router.post(
        "/dossiers/{code}/leadership-reports",
        summary="Báo cáo lãnh đạo before a 2nd return",
        responses=CONFLICT,
    )
    async def report(code: str, body: c.ReportToLeadership) -> dict[str, Any]:
        caller = acting_caller()
        return await run(
            caller, cc.ReportToLeadership(dossier_code=code, meta=_meta(body, caller), reason=body.reason)
        )

    @router.post(
        "/dossiers/{code}/leadership-acknowledgements", summary="Lãnh đạo xác nhận", responses=CONFLICT
    )
    async def acknowledge(code: str, body: c.AcknowledgeLeadership) -> dict[str, Any]:
        caller = acting_caller()
        return await run(
            caller, cc.AcknowledgeLeadership(dossier_code=code, meta=_meta(body, caller), note=body.note)
        )

    @router.post(
        "/dossiers/{code}/apologies", summary="Thư xin lỗi và hẹn lại (at most once)", responses=CONFLICT
    )
    async def apologise(code: str, body: c.IssueApology) -> dict[str, Any]:
        caller = acting_caller()
        command = cc.IssueApology(
            dossier_code=code, meta=_meta(body, caller), reason=body.reason, new_due_at=body.new_due_at
        )
        return await run(caller, command)

    @router.post("/dossiers/{code}/decision", summary="Quyết định: approve or reject", responses=CONFLICT)
    async def decide(code: str, body: c.Decide) -> dict[str, Any]:
        caller = acting_caller()
        command = cc.Decide(
            dossier_code=code, meta=_meta(body, caller), approved=body.approved, reasons=body.reasons
        )
        return await run(caller, command)

    @router.post("/dossiers/{code}/result-ready", summary="Có kết quả", responses=CONFLICT)
    async def result_ready(code: str, body: c.MakeResultReady) -> dict[str, Any]:
        caller = acting_caller()
        return await run(caller, cc.MakeResultReady(dossier_code=code, meta=_meta(body, caller)))

    @router.post("/dossiers/{code}/result-returned", summary="Trả kết quả", responses=CONFLICT)
    async def result_returned(code: str, body: c.ReturnResult) -> dict[str, Any]:
        caller = acting_caller()
        command = cc.ReturnResult(
            dossier_code=code, meta=_meta(body, caller), via=ReturnVia(body.via), received_by=body.received_by
        )
        return await run(caller, command)

    @router.post(
        "/dossiers/{code}/withdrawal", summary="Rút / dừng hồ sơ (before any decision)", responses=CONFLICT
    )
    async def withdraw(code: str, body: c.Withdraw) -> dict[str, Any]:
        caller = acting_caller()
        command = cc.Withdraw(
            dossier_code=code, meta=_meta(body, caller), kind=StopKind(body.kind), reason=body.reason
        )
        return await run(caller, command)

    return router
